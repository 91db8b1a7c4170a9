/**
 * KIP-112 in the LogManager: ENOSPC in one partition takes its whole log dir offline (every partition there refuses
 * reads and writes with KAFKA_STORAGE_ERROR), new partitions go to the dirs still online, checkpoints and the
 * clean-shutdown marker skip the offline dir, and a non-disk failure only takes its own log offline.
 */
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { ManualClock } from "../../src/platform/clock.ts";
import { type FileHandle, type FileSystem, nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { CLEAN_SHUTDOWN_FILE, LogManager } from "../../src/storage/log-manager.ts";
import { makeRecordsBatch, recordingLogger, tempDir } from "./batch-fixture.ts";

const config = logConfigWith({ segmentBytes: 1 << 20 });

/** The real file system, whose `.log` writes under `failIn` throw the given errno once armed. */
function failingFileSystem() {
  const state = { failIn: "", code: "ENOSPC" };
  const wrap = (h: FileHandle): FileHandle =>
    Object.assign(Object.create(Object.getPrototypeOf(h)), h, {
      write(buf: Uint8Array, position: number) {
        if (state.failIn !== "" && h.path.startsWith(state.failIn) && h.path.endsWith(".log")) {
          throw Object.assign(new Error(`${state.code}: injected, write '${h.path}'`), { code: state.code });
        }
        h.write(buf, position);
      },
    });
  const fs: FileSystem = { ...nodeFileSystem, open: (p, c) => wrap(nodeFileSystem.open(p, c)) };
  return { fs, state };
}

test("ENOSPC in one partition takes its log dir offline; the other dir keeps serving and takes new partitions", async () => {
  await initCrc32c();
  const [a, b] = [tempDir(), tempDir()];
  const clock = new ManualClock();
  const { fs, state } = failingFileSystem();
  try {
    const mgr = await LogManager.open([a.dir, b.dir], { fs, clock, logger: recordingLogger() }, { defaultConfig: config });
    const pA = mgr.getOrCreate({ topic: "t", partition: 0 }, config);
    const pB = mgr.getOrCreate({ topic: "t", partition: 1 }, config);
    const pB2 = mgr.getOrCreate({ topic: "u", partition: 0 }, config);
    const pB3 = mgr.getOrCreate({ topic: "u", partition: 1 }, config);
    assert.equal(mgr.logDirOf({ topic: "t", partition: 1 }), b.dir);
    const inB = [pA, pB, pB2, pB3].filter((l) => l.dir.startsWith(b.dir));
    assert.equal(inB.length, 2, "placed on the dir with the fewest partitions");
    for (const l of [pA, pB, pB2, pB3]) l.append(makeRecordsBatch(2, clock.nowMs()), { leaderEpoch: 0 });

    state.failIn = b.dir;
    assert.throws(() => pB.append(makeRecordsBatch(2, clock.nowMs()), { leaderEpoch: 0 }), (e) => e instanceof KafkaError && e.code === ErrorCode.KAFKA_STORAGE_ERROR);
    assert.equal(mgr.isLogDirOffline(b.dir), true);
    for (const l of inB) {
      assert.equal(l.isOffline, true, `${l.name} in the failed dir is offline`);
      assert.throws(() => l.read(0n, 1 << 20, true), (e) => e instanceof KafkaError && e.code === ErrorCode.KAFKA_STORAGE_ERROR);
    }
    pA.append(makeRecordsBatch(2, clock.nowMs()), { leaderEpoch: 0 });
    assert.equal(pA.read(0n, 1 << 20, true).batches, 2, "the other dir keeps serving");
    const described = mgr.describe();
    assert.equal(described.find((d) => d.dir === b.dir)!.offline?.includes("ENOSPC"), true);
    assert.equal(described.find((d) => d.dir === a.dir)!.offline, null);
    const fresh = mgr.getOrCreate({ topic: "v", partition: 0 }, config);
    assert.ok(fresh.dir.startsWith(a.dir), "new partitions avoid the offline dir");
    await mgr.close();
    assert.equal(nodeFs.existsSync(`${a.dir}/${CLEAN_SHUTDOWN_FILE}`), true);
    assert.equal(nodeFs.existsSync(`${b.dir}/${CLEAN_SHUTDOWN_FILE}`), false, "the offline dir is recovered at the next start");
  } finally {
    a.cleanup();
    b.cleanup();
  }
});

test("a failure that is not a disk failure takes only its own log offline", async () => {
  await initCrc32c();
  const a = tempDir();
  const clock = new ManualClock();
  const { fs, state } = failingFileSystem();
  try {
    const mgr = await LogManager.open([a.dir], { fs, clock, logger: recordingLogger() }, { defaultConfig: config });
    const p0 = mgr.getOrCreate({ topic: "t", partition: 0 }, config);
    const p1 = mgr.getOrCreate({ topic: "t", partition: 1 }, config);
    state.failIn = p0.dir;
    state.code = "EBADF";
    assert.throws(() => p0.append(makeRecordsBatch(1, clock.nowMs()), { leaderEpoch: 0 }));
    assert.equal(p0.isOffline, true);
    assert.equal(mgr.isLogDirOffline(a.dir), false);
    p1.append(makeRecordsBatch(1, clock.nowMs()), { leaderEpoch: 0 });
    assert.equal(p1.isOffline, false);
    await mgr.close();
  } finally {
    a.cleanup();
  }
});

test("a disk failure renaming a deleted partition's directory takes its log dir offline (Kafka's asyncDelete)", async () => {
  // Kafka's LogManager.asyncDelete renames the log's dir to `-delete` under maybeHandleIOException: an IOException
  // there fails the log dir. The delete was only logged (a warning by the broker), the dir kept serving.
  await initCrc32c();
  const a = tempDir();
  const clock = new ManualClock();
  let failRenames = false;
  const fs: FileSystem = {
    ...nodeFileSystem,
    rename(from, to) {
      if (failRenames && to.endsWith("-delete")) throw Object.assign(new Error(`EIO: injected, rename '${from}'`), { code: "EIO" });
      nodeFileSystem.rename(from, to);
    },
  };
  try {
    const mgr = await LogManager.open([a.dir], { fs, clock, logger: recordingLogger() }, { defaultConfig: config });
    const log = mgr.getOrCreate({ topic: "t", partition: 0 }, config);
    log.append(makeRecordsBatch(2, clock.nowMs()), { leaderEpoch: 0 });
    await mgr.syncCreated();
    failRenames = true;
    assert.throws(() => mgr.delete({ topic: "t", partition: 0 }), /EIO/);
    assert.equal(mgr.isLogDirOffline(a.dir), true);
    await mgr.close();
    assert.equal(nodeFs.existsSync(`${a.dir}/${CLEAN_SHUTDOWN_FILE}`), false, "the failed dir is recovered at the next start");
  } finally {
    a.cleanup();
  }
});
