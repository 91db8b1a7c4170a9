/**
 * An aborted transaction's `.txnindex` entry that a killed process wrote but never synced is still only in the page
 * cache when the next process reads it back at start-up. A producer snapshot taken later (clean stop, segment roll)
 * lets recovery skip replaying the ABORT marker below it, so that entry must be made durable first; otherwise a
 * power cut takes it and read_committed consumers see the aborted records for good. Found by the deterministic
 * simulation with clean stops (tests/sim/kafka-broker.ts, seed 3: kill, restart, clean stop, power cut). The disk is
 * the simulation's SimDisk: a kill keeps the page cache, a power cut keeps only what was synced.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ControlRecordType, buildControlBatch } from "../../src/protocol/control-record.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { Partition, type PartitionRoles } from "../../src/partition/partition.ts";
import { Sim } from "../sim/scheduler.ts";
import { SimDisk } from "../sim/sim-disk.ts";
import { recordingLogger } from "../storage/batch-fixture.ts";

await initCrc32c();

const solo: PartitionRoles = { leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] };
const PID = 9n;

function transactionalBatch(n: number): Uint8Array {
  const bb = new BatchBuilder(1 << 12);
  bb.reset({ producerId: PID, producerEpoch: 0, baseSequence: 0, isTransactional: true });
  for (let i = 0; i < n; i++) bb.append(1_700_000_000_000 + i, null, new TextEncoder().encode(`aborted-${i}`));
  return bb.finish().slice();
}

test("an aborted-transaction entry read back from the page cache after a kill is synced before the next producer snapshot, so a power cut after a clean stop keeps it", async () => {
  const sim = new Sim(1);
  const disk = new SimDisk(sim, { readErrorRate: 0, bitFlipRate: 0, tornWriteRate: 0, maxSyncLatencyMs: 1 });
  const logger = recordingLogger();
  const config = logConfigWith({});
  /** A new process's view of the disk and the partition opened on it (recovery, snapshot load, replay). */
  const open = (): Partition => {
    const fs = disk.view();
    const log = PartitionLog.open("/data/t-0", { topic: "t", partition: 0 }, config, { fs, clock: sim.clock, logger });
    return Partition.open({ name: "t" }, 0, log, { fs, clock: sim.clock, logger, localBrokerId: 1 }, solo);
  };
  const settle = async <T>(work: Promise<T>): Promise<T> => {
    await sim.run(sim.nowMs + 100);
    return work;
  };

  let p = open();
  p.appendAsLeader(transactionalBatch(2));
  const marker = p.appendAsLeader(buildControlBatch({ producerId: PID, producerEpoch: 0, type: ControlRecordType.ABORT, coordinatorEpoch: 0, timestampMs: 1_700_000_000_000 }));
  await settle(p.log.sync()); // the records and the marker are durable; the .txnindex entry is not
  const aborted = { producerId: PID, firstOffset: 0n, lastOffset: marker.baseOffset, lastStableOffset: marker.baseOffset + 1n };
  assert.deepEqual(p.abortedTxns.entries(), [aborted]);

  // The process is killed (the page cache survives) and starts again: the entry is read back from the page cache.
  disk.endProcess();
  p = open();
  assert.deepEqual(p.abortedTxns.entries(), [aborted]);

  // A clean stop: the producer snapshot at the log end (recovery replays nothing below it), then a power cut.
  p.close();
  await settle(p.log.close());
  disk.crash();

  p = open();
  assert.equal(p.logEndOffset, marker.baseOffset + 1n, "the synced records are all there");
  assert.deepEqual(p.abortedTxns.entries(), [aborted], "the aborted transaction is still known after the power cut");
  assert.deepEqual(p.abortedTxns.collect(0n, p.lastStableOffset), [{ producerId: PID, firstOffset: 0n }]);
});
