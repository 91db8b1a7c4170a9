import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { ManualClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { CLEAN_SHUTDOWN_FILE, LogManager, ROLL_CHECKPOINT_DELAY_MS } from "../../src/storage/log-manager.ts";
import type { StorageDeps } from "../../src/storage/storage-deps.ts";
import { makeRecordsBatch, recordingLogger, tempDir } from "./batch-fixture.ts";

async function setup(dirCount = 1) {
  await initCrc32c();
  const roots = Array.from({ length: dirCount }, () => tempDir());
  const clock = new ManualClock();
  const logger = recordingLogger();
  const deps: StorageDeps = { fs: nodeFileSystem, clock, logger };
  return { dirs: roots.map((r) => r.dir), clock, logger, deps, cleanup: () => roots.forEach((r) => r.cleanup()) };
}

const config = logConfigWith({ segmentBytes: 1000, retentionMs: 3_600_000 });
const ID = "AAECAwQFBgcICQoLDA0ODw"; // bytes 0..15

test("creates partitions with partition.metadata, checkpoints them, and reloads them", async () => {
  const s = await setup();
  try {
    let mgr = await LogManager.open(s.dirs, s.deps, { defaultConfig: config });
    const log = mgr.getOrCreate({ topic: "orders", partition: 0 }, config, ID);
    assert.equal(mgr.getOrCreate({ topic: "orders", partition: 0 }, config, ID), log);
    mgr.getOrCreate({ topic: "orders", partition: 1 }, config, ID);
    for (let i = 0; i < 5; i++) log.append(makeRecordsBatch(2, s.clock.nowMs(), 150), { leaderEpoch: 0 });
    await log.sync();
    log.highWatermark = log.logEndOffset;
    log.deleteRecordsBefore(3n);
    mgr.checkpoint();
    const dir = s.dirs[0];
    assert.equal(nodeFs.readFileSync(`${dir}/orders-0/partition.metadata`, "utf8"), `version: 0\ntopic_id: ${ID}\n`);
    const rp = nodeFs.readFileSync(`${dir}/recovery-point-offset-checkpoint`, "utf8").split("\n");
    assert.deepEqual(rp.slice(0, 2), ["0", "2"]);
    assert.ok(rp.includes("orders 0 10"), rp.join("|"));
    assert.ok(rp.includes("orders 1 0"));
    assert.ok(nodeFs.readFileSync(`${dir}/log-start-offset-checkpoint`, "utf8").includes("orders 0 3"));
    await mgr.close();
    assert.ok(nodeFs.existsSync(`${dir}/${CLEAN_SHUTDOWN_FILE}`));

    mgr = await LogManager.open(s.dirs, s.deps, { defaultConfig: config });
    assert.equal(nodeFs.existsSync(`${dir}/${CLEAN_SHUTDOWN_FILE}`), false, "marker consumed at start");
    const again = mgr.getLog({ topic: "orders", partition: 0 })!;
    assert.equal(again.logEndOffset, 10n);
    assert.equal(again.logStartOffset, 3n);
    assert.deepEqual(mgr.topicId({ topic: "orders", partition: 0 }), Uint8Array.from({ length: 16 }, (_, i) => i));
    assert.deepEqual(mgr.describe().map((d) => d.partitions.map((p) => `${p.topic}-${p.partition}`).sort()), [["orders-0", "orders-1"]]);
    await mgr.close();
  } finally {
    s.cleanup();
  }
});

test("a clean shutdown skips recovery; a crash recovers from the checkpointed recovery point", async () => {
  const s = await setup();
  try {
    let mgr = await LogManager.open(s.dirs, s.deps, { defaultConfig: config });
    const log = mgr.getOrCreate({ topic: "t", partition: 0 }, config, null);
    for (let i = 0; i < 3; i++) log.append(makeRecordsBatch(2, s.clock.nowMs(), 100), { leaderEpoch: 0 });
    await mgr.close();
    // Corrupt the tail: with the clean-shutdown marker the active segment is not CRC-checked.
    const path = `${s.dirs[0]}/t-0/00000000000000000000.log`;
    const bytes = nodeFs.readFileSync(path);
    bytes[bytes.length - 3] ^= 0xff;
    nodeFs.writeFileSync(path, bytes);
    mgr = await LogManager.open(s.dirs, s.deps, { defaultConfig: config });
    assert.equal(mgr.getLog({ topic: "t", partition: 0 })!.logEndOffset, 6n);
    assert.ok(!s.logger.lines.some((l) => l.includes("recovered t-0")));
    // No close: the next start has no marker and recovers the segment holding the recovery point.
    mgr.checkpoint();
    const crashed = mgr;
    mgr = await LogManager.open(s.dirs, s.deps, { defaultConfig: config });
    assert.equal(mgr.getLog({ topic: "t", partition: 0 })!.logEndOffset, 4n);
    assert.ok(s.logger.lines.some((l) => l.includes("recovered t-0") && l.includes("bad CRC")), s.logger.lines.join("\n"));
    await mgr.close();
    for (const l of crashed.allLogs()) await l.close().catch(() => {});
  } finally {
    s.cleanup();
  }
});

test("new partitions go to the log dir with the fewest; -delete dirs are removed at start", async () => {
  const s = await setup(2);
  try {
    nodeFs.mkdirSync(`${s.dirs[1]}/old-0.0123abcd-delete`);
    nodeFs.writeFileSync(`${s.dirs[1]}/old-0.0123abcd-delete/00000000000000000000.log`, "x");
    const mgr = await LogManager.open(s.dirs, s.deps, { defaultConfig: config });
    assert.equal(nodeFs.existsSync(`${s.dirs[1]}/old-0.0123abcd-delete`), false);
    for (let p = 0; p < 4; p++) mgr.getOrCreate({ topic: "spread", partition: p }, config, null);
    const counts = s.dirs.map((d) => nodeFs.readdirSync(d).filter((n) => n.startsWith("spread-")).length);
    assert.deepEqual(counts, [2, 2]);
    mgr.delete({ topic: "spread", partition: 0 });
    assert.equal(mgr.getLog({ topic: "spread", partition: 0 }), undefined);
    assert.equal(nodeFs.existsSync(`${mgr.logDirOf({ topic: "spread", partition: 1 })}/spread-0`), false);
    assert.ok(s.dirs.every((d) => !nodeFs.readdirSync(d).some((n) => n.startsWith("spread-0"))));
    mgr.removeUnknown((topic) => topic !== "spread");
    assert.equal(mgr.allLogs().length, 0);
    await mgr.close();
  } finally {
    s.cleanup();
  }
});

test("retention and checkpoints run on the clock", async () => {
  const s = await setup();
  try {
    const mgr = await LogManager.open(s.dirs, s.deps, { defaultConfig: config, retentionCheckIntervalMs: 600_000, checkpointIntervalMs: 300_000 });
    const log = mgr.getOrCreate({ topic: "r", partition: 0 }, config, null);
    for (let i = 0; i < 6; i++) log.append(makeRecordsBatch(2, s.clock.nowMs(), 150), { leaderEpoch: 0 });
    log.highWatermark = log.logEndOffset;
    s.clock.advance(3_600_000 + 600_000);
    await mgr.checkpointsSettled();
    assert.equal(log.logStartOffset, 12n);
    assert.equal(log.segmentCount, 1);
    assert.ok(nodeFs.readFileSync(`${s.dirs[0]}/log-start-offset-checkpoint`, "utf8").includes("r 0 12"));
    await mgr.close();
  } finally {
    s.cleanup();
  }
});

test("a topic config given to getOrCreate is applied to a log loaded at start", async () => {
  const s = await setup();
  try {
    let mgr = await LogManager.open(s.dirs, s.deps);
    mgr.getOrCreate({ topic: "c", partition: 0 }, config, null);
    await mgr.close();
    mgr = await LogManager.open(s.dirs, s.deps);
    const changed = logConfigWith({ segmentBytes: 2000 });
    assert.equal(mgr.getOrCreate({ topic: "c", partition: 0 }, changed, null).config.segmentBytes, 2000);
    await mgr.close();
  } finally {
    s.cleanup();
  }
});

test("a rolled segment made durable is checkpointed within ROLL_CHECKPOINT_DELAY_MS, long before the periodic checkpoint", async () => {
  const s = await setup();
  try {
    const mgr = await LogManager.open(s.dirs, s.deps, { defaultConfig: config, checkpointIntervalMs: 3_600_000 });
    const log = mgr.getOrCreate({ topic: "rolls", partition: 0 }, config, ID);
    const path = `${s.dirs[0]}/recovery-point-offset-checkpoint`;
    const entry = () => (nodeFs.existsSync(path) ? nodeFs.readFileSync(path, "utf8").split("\n").find((l) => l.startsWith("rolls 0 ")) : undefined);
    // segment.bytes 1000: batches of two 150-byte records roll a segment every few appends.
    for (let i = 0; i < 8; i++) log.append(makeRecordsBatch(2, s.clock.nowMs(), 150), { leaderEpoch: 0 });
    assert.ok(log.segmentBaseOffsets().length > 1, "rolled");
    await log.sync();
    const rolledTo = log.segmentBaseOffsets().at(-1)!;
    s.clock.advance(ROLL_CHECKPOINT_DELAY_MS);
    await mgr.checkpointsSettled();
    const offset = BigInt(entry()?.split(" ")[2] ?? "-1");
    assert.ok(offset >= rolledTo, `checkpointed recovery point ${offset}, the active segment starts at ${rolledTo}`);
    await mgr.close();
  } finally {
    s.cleanup();
  }
});
