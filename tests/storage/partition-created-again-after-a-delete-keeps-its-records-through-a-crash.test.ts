/**
 * A partition deleted and created again under the same name (DeleteTopics then CreateTopics, or a replica moved away
 * and back) keeps its acknowledged records through a crash. The checkpoints are keyed by topic and partition only:
 * until they were next written (the timer, 60 s by default), they still held the deleted log's entries, and the next
 * start gave the new log the old log start offset. Since fd4266b a log whose end lies below its checkpointed log
 * start offset is deleted and restarted there, so the new topic's records were deleted for good (before, they were
 * hidden below that offset). Kafka's LogManager.asyncDelete writes the dir's checkpoints as it deletes a log; so does
 * Runnel now, before a creation that follows (syncCreated) counts as durable.
 *
 * A log left under the name by the deleted topic (its removal failed on a failing disk) is not the new topic's
 * replica either: its `partition.metadata` names the old topic id. As Kafka's stray-log check
 * (LogManager.isStrayKraftReplica: a log whose topic id the metadata does not know), the log manager deletes it and
 * creates the partition anew, instead of serving the deleted topic's records as the new topic's. Where the new topic
 * was created while that log dir was offline, its replica (acknowledged records) is in another log dir: the start
 * finds the partition twice and loads one; whichever one is the stray, the other is the replica, and the stray goes.
 */
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { ManualClock } from "../../src/platform/clock.ts";
import { nodeFileSystem, type FileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { uuidBase64 } from "../../src/protocol/uuid.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { LogManager } from "../../src/storage/log-manager.ts";
import { batchBaseOffsets, makeRecordsBatch, recordingLogger, tempDir } from "./batch-fixture.ts";

const OLD_ID = "AAECAwQFBgcICQoLDA0ODw";
const NEW_ID = "EBESExQVFhcYGRobHB0eHw";

/** Real files under a fresh temp dir, a manual clock, a recording logger, and partition again-0 with its config. */
function fixture() {
  const root = tempDir();
  const clock = new ManualClock();
  const logger = recordingLogger();
  return { root, clock, logger, deps: { fs: nodeFileSystem, clock, logger }, config: logConfigWith({ segmentBytes: 1000, retentionMs: 3_600_000 }), tp: { topic: "again", partition: 0 } };
}

test("a partition created again after a delete keeps its acknowledged records through a crash, whatever the deleted log's start was", async () => {
  await initCrc32c();
  const { root, clock, logger, deps, config, tp } = fixture();
  let first: LogManager | null = null;
  let second: LogManager | null = null;
  try {
    first = await LogManager.open([root.dir], deps, { defaultConfig: config });
    const old = first.getOrCreate(tp, config, OLD_ID);
    for (let i = 0; i < 10; i++) old.append(makeRecordsBatch(2, clock.nowMs(), 100), { leaderEpoch: 0 });
    await old.sync();
    old.highWatermark = old.logEndOffset;
    assert.equal(old.deleteRecordsBefore(15n), 15n);
    first.checkpoint(); // the log start offset checkpoint holds again-0 15
    first.delete(tp);
    const log = first.getOrCreate(tp, config, NEW_ID);
    await first.syncCreated(); // as CreateTopics does before it records the topic
    for (let i = 0; i < 3; i++) log.append(makeRecordsBatch(2, clock.nowMs(), 100), { leaderEpoch: 0 });
    await log.sync(); // acknowledged (acks=all)
    // The process is killed: no close, no checkpoint by the timer (the clock does not move).
    second = await LogManager.open([root.dir], deps, { defaultConfig: config });
    const reopened = second.getLog(tp)!;
    assert.equal(reopened.logStartOffset, 0n, logger.lines.join("\n"));
    assert.equal(reopened.logEndOffset, 6n);
    reopened.highWatermark = reopened.logEndOffset;
    assert.deepEqual(batchBaseOffsets(reopened.read(0n, 1 << 20, true).chunks), [0n, 2n, 4n]);
  } finally {
    await second?.close();
    await first?.close().catch(() => {});
    root.cleanup();
  }
});

test("a partition created again after a delete flushes nothing before the checkpoints without the deleted log are durable, also without syncCreated", async () => {
  // A replica opened by the cluster's metadata does not wait for syncCreated: its first flush (which an acks=all
  // answer waits for) must still come after the checkpoints the deletion writes.
  await initCrc32c();
  const root = tempDir();
  const clock = new ManualClock();
  const logger = recordingLogger();
  const events: string[] = [];
  let armed = false;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const fs: FileSystem = {
    ...nodeFileSystem,
    writeFileAtomicAsync: async (file, data, tag) => {
      const held = armed && file.endsWith("log-start-offset-checkpoint");
      if (held) await gate;
      await nodeFileSystem.writeFileAtomicAsync(file, data, tag);
      if (held) events.push("checkpoint written");
    },
    open: (file, create) => {
      const h = nodeFileSystem.open(file, create);
      if (!armed || !file.endsWith(".log")) return h;
      const datasync = () => {
        events.push("segment flushed");
        release();
        return h.datasync();
      };
      return Object.assign(Object.create(h) as typeof h, { datasync });
    },
  };
  const config = logConfigWith({ segmentBytes: 1000, retentionMs: 3_600_000 });
  const tp = { topic: "again", partition: 0 };
  const mgr = await LogManager.open([root.dir], { fs, clock, logger }, { defaultConfig: config });
  try {
    const old = mgr.getOrCreate(tp, config, null);
    for (let i = 0; i < 10; i++) old.append(makeRecordsBatch(2, clock.nowMs(), 100), { leaderEpoch: 0 });
    await old.sync();
    old.highWatermark = old.logEndOffset;
    old.deleteRecordsBefore(15n);
    mgr.checkpoint();
    armed = true; // from here the checkpoint writes wait until the new log flushes, or a moment has passed
    mgr.delete(tp);
    const log = mgr.getOrCreate(tp, config, null);
    log.append(makeRecordsBatch(2, clock.nowMs(), 100), { leaderEpoch: 0 });
    const flushed = log.sync();
    const fallback = setTimeout(release, 200);
    await flushed;
    clearTimeout(fallback);
    await mgr.syncCreated();
    assert.deepEqual(events.slice(0, 2), ["checkpoint written", "segment flushed"]);
  } finally {
    release();
    await mgr.close();
    root.cleanup();
  }
});

test("a log whose partition.metadata names a deleted topic's id is deleted and the partition created anew, at start and later", async () => {
  await initCrc32c();
  const { root, clock, logger, deps, config, tp } = fixture();
  const dirs = [path.join(root.dir, "a"), path.join(root.dir, "b")];
  let first: LogManager | null = null;
  let second: LogManager | null = null;
  try {
    first = await LogManager.open(dirs, deps, { defaultConfig: config });
    const old = first.getOrCreate(tp, config, OLD_ID);
    for (let i = 0; i < 5; i++) old.append(makeRecordsBatch(2, clock.nowMs(), 100), { leaderEpoch: 0 });
    await old.sync();
    await first.close();
    first = null;

    // the broker starts again; the metadata names the topic created again under the name, with a new id
    second = await LogManager.open(dirs, deps, { defaultConfig: config });
    const log = second.getOrCreate(tp, config, NEW_ID, false);
    assert.equal(log.logEndOffset, 0n, "the new topic's replica starts empty, without the deleted topic's 10 records");
    assert.equal(second.getLog(tp), log);
    assert.ok(logger.lines.some((l) => l.includes(`belongs to topic id ${OLD_ID}, not ${NEW_ID}`)), logger.lines.join("\n"));
    assert.equal(uuidBase64(second.topicId(tp)!), NEW_ID, "the partition's topic id is the new topic's");
    assert.deepEqual(dirs.flatMap((d) => nodeFs.readdirSync(d).filter((f) => f.startsWith("again-0"))), ["again-0"], "one directory of the partition, the new one");
    // the same id again: the same log
    assert.equal(second.getOrCreate(tp, config, NEW_ID, false), log);
  } finally {
    await second?.close();
    await first?.close().catch(() => {});
    root.cleanup();
  }
});

/** Writes partition again-0 of topic `id` with `batches` two-record batches, synced, alone in log dir `dir`. */
async function writeLog(dir: string, id: string, batches: number): Promise<void> {
  const { clock, deps, config, tp } = fixture();
  const m = await LogManager.open([dir], deps, { defaultConfig: config });
  try {
    const log = m.getOrCreate(tp, config, id);
    await m.syncCreated();
    for (let i = 0; i < batches; i++) log.append(makeRecordsBatch(2, clock.nowMs(), 100), { leaderEpoch: 0 });
    await log.sync();
  } finally {
    await m.close();
  }
}

for (const strayFirst of [true, false]) {
  test(`a deleted topic's log left in one log dir and the new topic's in another (the stray one ${strayFirst ? "loaded first" : "loaded second"}): the new one is the replica, the stray deleted`, async () => {
    await initCrc32c();
    const { root, logger, deps, config, tp } = fixture();
    const [a, b] = [path.join(root.dir, "a"), path.join(root.dir, "b")];
    const [strayDir, newDir] = strayFirst ? [a, b] : [b, a];
    let m: LogManager | null = null;
    try {
      // The deleted topic's log: its removal failed there (a failing disk, the dir went offline).
      await writeLog(strayDir, OLD_ID, 2);
      // The topic created again under the name while that dir was offline: its replica in the other, records acknowledged.
      await writeLog(newDir, NEW_ID, 5);

      // The broker starts again with both dirs working (a is loaded first; the other copy is kept aside).
      m = await LogManager.open([a, b], deps, { defaultConfig: config });
      const log = m.getOrCreate(tp, config, NEW_ID, false);
      assert.equal(log.logEndOffset, 10n, `the new topic's acknowledged records are kept\n${logger.lines.join("\n")}`);
      assert.equal(log.dir, path.join(newDir, "again-0"));
      assert.ok(logger.lines.some((l) => l.includes(`again-0 in ${strayDir} belongs to topic id ${OLD_ID}, not ${NEW_ID}`)), logger.lines.join("\n"));
      const left = [a, b].flatMap((d) => nodeFs.readdirSync(d).filter((f) => f.startsWith("again-0")).map((f) => path.join(d, f)));
      assert.deepEqual(left, [path.join(newDir, "again-0")], "the deleted topic's log is gone");
      await m.close();
      // and again after a restart: the one log left is the new topic's
      m = await LogManager.open([a, b], deps, { defaultConfig: config });
      assert.equal(m.getOrCreate(tp, config, NEW_ID, false).logEndOffset, 10n);
    } finally {
      await m?.close().catch(() => {});
      root.cleanup();
    }
  });
}
