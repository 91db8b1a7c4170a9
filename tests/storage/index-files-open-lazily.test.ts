/**
 * The active segment's `.index` and `.timeindex` open only when the first index entry is written (or at seal): a
 * partition that never writes index.interval.bytes holds one descriptor, not three. The files are still whole and
 * correct once the segment is sealed or the log closed, and a reopened log uses them without a rebuild.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { type FileSystem, nodeFileSystem } from "../../src/platform/fs.ts";
import { openTestLog } from "./log-fixture.ts";
import { makeRecordsBatch } from "./batch-fixture.ts";

function recordingFileSystem(): { fs: FileSystem; opened: string[] } {
  const opened: string[] = [];
  const fsys: FileSystem = { ...nodeFileSystem, open: (p, c) => (opened.push(p), nodeFileSystem.open(p, c)) };
  return { fs: fsys, opened };
}

test("index files open on the first index entry, not when the segment is created, and are whole after close", async () => {
  const { fs: recording, opened } = recordingFileSystem();
  const t = await openTestLog({ indexIntervalBytes: 4096 }, { fs: recording });
  try {
    const indexOpens = () => opened.filter((p) => p.endsWith(".index") || p.endsWith(".timeindex")).length;
    t.log.append(makeRecordsBatch(2, t.clock.nowMs(), 100), { leaderEpoch: 0 });
    await t.log.sync();
    assert.equal(indexOpens(), 0, `no index file opened for a small partition: ${opened.join(" ")}`);
    for (let i = 0; i < 10; i++) t.log.append(makeRecordsBatch(4, t.clock.nowMs(), 500), { leaderEpoch: 0 });
    assert.ok(indexOpens() >= 1, "the first index entry opens the index");
    const log = await t.reopen();
    const segDir = t.dir;
    assert.ok(fs.statSync(`${segDir}/00000000000000000000.index`).size > 0, "index written out at close");
    assert.ok(fs.existsSync(`${segDir}/00000000000000000000.timeindex`));
    assert.doesNotMatch(t.logger.lines.join("\n"), /rebuilding indexes/);
    log.highWatermark = log.logEndOffset;
    assert.equal(log.read(0n, 1 << 20, true).batches, 11);
  } finally {
    await t.cleanup();
  }
});
