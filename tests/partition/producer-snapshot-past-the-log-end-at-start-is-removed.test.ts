/**
 * A producer snapshot past the log end at start-up (a clean stop wrote it at the log end, then the power went before
 * the log's tail was synced) is removed, as Kafka's truncateAndReload does at load. Left under its name it was
 * skipped while the log was shorter and loaded once the log grew past its offset again (the next restart): a
 * producer's retry of the lost batch was answered as a duplicate at offsets that held other records, and the ABORT
 * markers below it were not replayed into the aborted-transaction index. Found by the deterministic simulation with
 * clean stops (tests/sim/kafka-broker.ts, seed 168: read_committed saw an aborted transaction's records).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { Partition, type PartitionRoles } from "../../src/partition/partition.ts";
import { producerSnapshotOffsets } from "../../src/partition/producer-snapshot.ts";
import { recordingLogger } from "../storage/batch-fixture.ts";

await initCrc32c();

const solo: PartitionRoles = { leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] };
const A = 7n;
const B = 8n;

function batch(pid: bigint, seq: number, n: number): Uint8Array {
  const bb = new BatchBuilder(1 << 12);
  bb.reset({ producerId: pid, producerEpoch: 0, baseSequence: seq });
  for (let i = 0; i < n; i++) bb.append(1_700_000_000_000 + i, null, new TextEncoder().encode(`${pid}-${seq + i}`));
  return bb.finish().slice();
}

test("a producer snapshot past the recovered log end is removed at start, so a later start does not load it once the log grew past it", async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-snapshot-past-end-"));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = `${root}/t-0`;
  const clock = new ManualClock();
  const logger = recordingLogger();
  const config = logConfigWith({});
  const open = (): Partition =>
    Partition.open({ name: "t" }, 0, PartitionLog.open(dir, { topic: "t", partition: 0 }, config, { fs: nodeFileSystem, clock, logger }), { fs: nodeFileSystem, clock, logger, localBrokerId: 1 }, solo);

  let p = open();
  p.appendAsLeader(batch(A, 0, 2));
  const segment = `${dir}/${"0".padStart(20, "0")}.log`;
  const keptBytes = fs.statSync(segment).size;
  p.appendAsLeader(batch(A, 2, 1)); // offset 2: the tail the power cut takes
  // A clean stop: the log flushed and closed, then the producer snapshot at the log end (3).
  p.close();
  await p.log.close();
  p.writeStopSnapshot();
  assert.deepEqual(producerSnapshotOffsets(nodeFileSystem, dir), [3n]);
  // The segment then lost its last batch: as a power cut did when the snapshot came before the tail's sync (the
  // stop's order until Kafka's was taken), or a disk that loses what it had synced.
  fs.truncateSync(segment, keptBytes);

  p = open();
  assert.equal(p.logEndOffset, 2n);
  assert.deepEqual(producerSnapshotOffsets(nodeFileSystem, dir), [], "the snapshot past the log end is gone");
  // Another producer's records now take offsets 2-4, past the old snapshot's offset; then the process is killed.
  p.appendAsLeader(batch(B, 0, 3));
  await p.log.sync();

  p = open();
  assert.equal(p.logEndOffset, 5n);
  assert.equal(p.producers.check(A, 0, 2, 1).kind, "append", "producer A's retry of its lost batch is appended, not answered as a duplicate at offsets holding B's records");
});
