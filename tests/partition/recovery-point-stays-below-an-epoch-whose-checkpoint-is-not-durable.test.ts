/**
 * The recovery point (and the clean-shutdown marker) never covers the start of a leader epoch whose
 * `leader-epoch-checkpoint` write is not durable, directory entry included. The checkpoint is written off the
 * append path (temp file, fdatasync, rename); the rename was never followed by a directory fsync, so a power cut
 * could keep the epoch's records (synced with the log) and the recovery-point checkpoint past them, and lose the
 * checkpoint naming the epoch. The start then recovered only above the recovery point, never saw the epoch's first
 * batch, and the epoch was gone for good: OffsetForLeaderEpoch answered the previous epoch's end for it, and a
 * follower holding it truncated and fetched the same records again for ever (as cluster sim seed 98 did before
 * 6b561b98 took the epochs of recovered batches). Kafka writes the checkpoint synchronously with its directory
 * (LeaderEpochFileCache.assign, CheckpointFile). Runnel keeps the write asynchronous, fsyncs the directory after
 * it, and holds the recovery point below the epoch until then.
 *
 * The disk is the simulation's SimDisk with directory entries that a power cut loses until their own directory is
 * fsynced (one journal per directory: POSIX's letter; ext4's ordered global journal would commit the rename with
 * the log dir's next fsync).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { LogManager } from "../../src/storage/log-manager.ts";
import type { FileSystem } from "../../src/platform/fs.ts";
import { LEADER_EPOCH_CHECKPOINT } from "../../src/partition/leader-epoch-cache.ts";
import { Partition, type PartitionRoles } from "../../src/partition/partition.ts";
import { Sim } from "../sim/scheduler.ts";
import { SimDisk } from "../sim/sim-disk.ts";
import { makeRecordsBatch, recordingLogger } from "../storage/batch-fixture.ts";

await initCrc32c();

const tp = { topic: "t", partition: 0 };
const roles = (leaderEpoch: number): PartitionRoles => ({ leader: 1, leaderEpoch, replicas: [1], isr: [1] });
/** Small segments: epoch 1 starts in the first one and the recovery point ends in a later one. */
const config = logConfigWith({ segmentBytes: 1000 });

/** A simulated disk with partition t-0 under a log manager, opened (and reopened after a power cut) as a broker process would. */
function fixture(seed: number) {
  const sim = new Sim(seed);
  const disk = new SimDisk(sim, { readErrorRate: 0, bitFlipRate: 0, tornWriteRate: 0, maxSyncLatencyMs: 5, unsyncedNamespace: true, journalPerDirectory: true });
  const logger = recordingLogger();
  const settle = async <T>(work: Promise<T>): Promise<T> => {
    await sim.run(sim.nowMs + 100);
    return work;
  };
  /** While set, the partition's leader-epoch-checkpoint writes wait for it before they start (a slow disk). */
  const held: { epochWrites: Promise<void> | null } = { epochWrites: null };
  const open = async (epoch: number): Promise<{ manager: LogManager; p: Partition }> => {
    const fs = disk.view();
    disk.mkdirp("/data");
    const manager = await settle(LogManager.open(["/data"], { fs, clock: sim.clock, logger }, { defaultConfig: config }));
    const log = manager.getLog(tp) ?? manager.getOrCreate(tp, config);
    await settle(manager.syncCreated());
    const partitionFs: FileSystem = {
      ...fs,
      writeFileAtomicAsync: async (path, data, tag) => {
        if (held.epochWrites !== null && path.endsWith(LEADER_EPOCH_CHECKPOINT)) await held.epochWrites;
        return fs.writeFileAtomicAsync(path, data, tag);
      },
    };
    const p = Partition.open({ name: "t" }, 0, log, { fs: partitionFs, clock: sim.clock, logger, localBrokerId: 1 }, roles(epoch));
    return { manager, p };
  };
  return { sim, disk, logger, settle, held, open };
}

/**
 * Epoch 0 writes a batch, epoch 1 writes its first batch (its checkpoint written off the append path) and enough
 * more to roll segments; the records are synced. With `epochWriteDone` the epoch checkpoint's write is done after
 * that; without, it is held (in flight) until the power cut.
 * Returns the partition, its manager and epoch 1's start.
 */
async function twoEpochs(f: ReturnType<typeof fixture>, epochWriteDone: boolean) {
  const { manager, p } = await f.open(0);
  p.appendAsLeader(makeRecordsBatch(2, 1_700_000_000_000, 100));
  await f.settle(p.log.sync());
  // The epoch checkpoint's write waits until the records are synced (else the log's own directory fsync after its
  // rolls could commit the rename too).
  let release = (): void => {};
  f.held.epochWrites = new Promise<void>((resolve) => (release = resolve));
  p.takeRoles(roles(1));
  const epoch1Start = p.appendAsLeader(makeRecordsBatch(2, 1_700_000_000_000, 100)).baseOffset;
  for (let i = 0; i < 12; i++) p.appendAsLeader(makeRecordsBatch(2, 1_700_000_000_000, 100));
  assert.ok(p.log.segmentCount >= 3, "the log rolled past the segment epoch 1 starts in");
  await f.settle(p.log.sync());
  f.held.epochWrites = null;
  if (epochWriteDone) {
    release();
    await f.settle(Promise.resolve());
  }
  assert.equal(p.leaderEpochs.dirty, !epochWriteDone, "the epoch checkpoint's write is done exactly when released");
  return { manager, p, epoch1Start };
}

test("the recovery point stays below an epoch start until its checkpoint is durable with its directory entry; a power cut keeps the epoch", async () => {
  for (let run = 0; run < 16; run++) {
    const seed = (run >> 1) + 1;
    const f = fixture(seed);
    const { manager, p, epoch1Start } = await twoEpochs(f, run % 2 === 1);
    assert.deepEqual(p.leaderEpochs.epochEntries(), [{ epoch: 0, startOffset: 0n }, { epoch: 1, startOffset: epoch1Start }]);
    // The timer's recovery-point checkpoint (synchronous here: durable with its directory), then the power goes:
    // the epoch checkpoint's write is still in flight, or its temp file was synced and renamed, but nothing
    // fsynced the partition directory after the rename unless the epoch write did.
    manager.checkpoint();
    f.disk.crash();

    const { manager: again, p: reopened } = await f.open(1);
    const end = reopened.logEndOffset;
    assert.ok(end > epoch1Start, `seed ${seed}: the synced records of epoch 1 are still there`);
    assert.deepEqual(reopened.leaderEpochs.epochEntries(), [{ epoch: 0, startOffset: 0n }, { epoch: 1, startOffset: epoch1Start }], `seed ${seed}: epoch 1 is still known after the power cut\n${f.logger.lines.join("\n")}`);
    // OffsetForLeaderEpoch for epoch 0 (a follower's divergence check) ends where epoch 1 began, not at the log end.
    assert.deepEqual(reopened.leaderEpochs.endOffsetFor(0, end), { epoch: 0, endOffset: epoch1Start }, `seed ${seed}`);
    await f.settle(again.close());
  }
});

test("a clean stop makes an epoch checkpoint not yet durable (in flight, or renamed without a directory fsync) durable before its clean-shutdown marker; a power cut keeps the epoch", async () => {
  for (let run = 0; run < 16; run++) {
    const seed = (run >> 1) + 1;
    const f = fixture(seed);
    const { manager, p, epoch1Start } = await twoEpochs(f, run % 2 === 1);
    // The epoch checkpoint's write is in flight, or done without a directory fsync unless it made one: the stop
    // closes the logs, writes the producer snapshot, the final checkpoints and the marker, then the power goes.
    p.close();
    await f.settle(manager.close(() => p.writeStopSnapshot()));
    f.disk.crash();

    const { manager: again, p: reopened } = await f.open(1);
    assert.ok(reopened.logEndOffset > epoch1Start, `seed ${seed}: the synced records of epoch 1 are still there`);
    assert.deepEqual(reopened.leaderEpochs.epochEntries(), [{ epoch: 0, startOffset: 0n }, { epoch: 1, startOffset: epoch1Start }], `seed ${seed}: epoch 1 is still known after the power cut\n${f.logger.lines.join("\n")}`);
    await f.settle(again.close());
  }
});
