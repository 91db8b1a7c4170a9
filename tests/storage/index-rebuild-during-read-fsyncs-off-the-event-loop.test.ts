/**
 * An index found missing when a read first uses it is rebuilt and rewritten without a blocking fsync on the event
 * loop: over a file system that refuses blocking fsyncs the read still answers, and the rebuilt index file is
 * fsynced asynchronously afterwards.
 */
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { batchBaseOffsets, makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog } from "./log-fixture.ts";
import { asyncOnlyFileSystem } from "../support/async-only-fs.ts";

test("a read that rebuilds a missing index fsyncs the new index asynchronously", async () => {
  const { fs, syncs, setRefusing } = asyncOnlyFileSystem();
  setRefusing(false);
  const t = await openTestLog({ indexIntervalBytes: 300, segmentBytes: 3000 }, { fs });
  try {
    for (let i = 0; i < 30; i++) t.log.append(makeRecordsBatch(3, t.clock.nowMs() + i, 100), { leaderEpoch: 0 });
    const expected = batchBaseOffsets(t.log.read(0n, 1 << 20, false).chunks);
    await t.log.close();
    const idx = `${t.dir}/00000000000000000000.index`;
    const good = nodeFs.readFileSync(idx);
    nodeFs.rmSync(idx);
    // Clean shutdown state: no recovery, so the sealed segment's index is rebuilt when a read first uses it.
    const log = await t.reopen({ crash: true, state: { cleanShutdown: true, recoveryPoint: 90n } });
    setRefusing(true);
    assert.deepEqual(batchBaseOffsets(log.read(0n, 1 << 20, false).chunks), expected);
    assert.equal(log.read(40n, 1 << 20, false).firstOffset, 39n);
    assert.equal(log.read(10n, 1 << 20, false).firstOffset, 9n, "a read inside segment 0 uses (and rebuilds) its index");
    for (let i = 0; i < 1000 && !syncs.files.includes(idx); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(syncs.files.includes(idx), "the rebuilt index was fsynced asynchronously");
    assert.deepEqual([...nodeFs.readFileSync(idx)], [...good], "index rewritten as before");
  } finally {
    setRefusing(false);
    await t.cleanup();
  }
});
