/**
 * Fixture of the aborted-transaction durability tests: one partition on a simulated disk (tests/sim's SimDisk: a
 * kill keeps the page cache, a power cut keeps only what was synced), reopened as a new process would.
 */
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ControlRecordType, buildControlBatch } from "../../src/protocol/control-record.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { Partition, type PartitionRoles } from "../../src/partition/partition.ts";
import type { AbortedTxn } from "../../src/partition/aborted-txn-index.ts";
import { Sim } from "../sim/scheduler.ts";
import { SimDisk } from "../sim/sim-disk.ts";
import { recordingLogger } from "../storage/batch-fixture.ts";

const solo: PartitionRoles = { leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] };
/** The transactional producer id of the fixture's batches. */
export const PID = 9n;

/** A transactional batch of `n` records of {@link PID}. */
function transactionalBatch(n: number): Uint8Array {
  const bb = new BatchBuilder(1 << 12);
  bb.reset({ producerId: PID, producerEpoch: 0, baseSequence: 0, isTransactional: true });
  for (let i = 0; i < n; i++) bb.append(1_700_000_000_000 + i, null, new TextEncoder().encode(`aborted-${i}`));
  return bb.finish().slice();
}

/**
 * A simulated disk (seeded `seed`, fdatasyncs answering within `maxSyncLatencyMs`) with partition t-0 on it, in
 * which two records of a transaction and its ABORT marker are appended and synced (the `.txnindex` entry is not):
 * `open` starts a new process's partition on the disk, `settle` runs the simulation 100 ms and then awaits `work`;
 * `sim` runs the disk's events.
 */
export async function abortedTransactionOnSimDisk(seed: number, maxSyncLatencyMs: number) {
  const sim = new Sim(seed);
  const disk = new SimDisk(sim, { readErrorRate: 0, bitFlipRate: 0, tornWriteRate: 0, maxSyncLatencyMs });
  const logger = recordingLogger();
  const config = logConfigWith({});
  const open = (): Partition => {
    const fs = disk.view();
    const log = PartitionLog.open("/data/t-0", { topic: "t", partition: 0 }, config, { fs, clock: sim.clock, logger });
    return Partition.open({ name: "t" }, 0, log, { fs, clock: sim.clock, logger, localBrokerId: 1 }, solo);
  };
  const settle = async <T>(work: Promise<T>): Promise<T> => {
    await sim.run(sim.nowMs + 100);
    return work;
  };
  const p = open();
  p.appendAsLeader(transactionalBatch(2));
  const marker = p.appendAsLeader(buildControlBatch({ producerId: PID, producerEpoch: 0, type: ControlRecordType.ABORT, coordinatorEpoch: 0, timestampMs: 1_700_000_000_000 }));
  await settle(p.log.sync());
  const aborted: AbortedTxn = { producerId: PID, firstOffset: 0n, lastOffset: marker.baseOffset, lastStableOffset: marker.baseOffset + 1n };
  return { sim, disk, open, settle, p, marker, aborted };
}
