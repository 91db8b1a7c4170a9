/**
 * An acks=all Produce is answered only after an fdatasync that covers its batch has completed, with per-partition
 * group commit, with broker-wide flush rounds (`runnel.log.flush.rounds=true`), with overlapping flushes and with
 * `log.preallocate` (alone and with overlapping flushes). The broker runs on a file
 * system that delays every segment fdatasync by a varying few milliseconds and notes, when one completes, how
 * many bytes of that file it made durable; each acknowledgement the producer gets is checked against what was
 * durable at that moment: the end of its batch in the segment file must be. Two modes run on a 2-shard node too,
 * whose shards run on such a file system (below).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as os from "node:os";
import { startTestBroker } from "../support/broker.ts";
import { testShards } from "../support/broker-process.ts";
import { startNodeWithShardWorker, type NodeWithShardWorker } from "../support/node-with-test-shard-worker.ts";
import { wrappedFileSystem } from "../storage/wrapped-file-system.ts";
import { Producer } from "../../src/client/producer.ts";
import { Admin } from "../../src/client/admin.ts";
import { BATCH_LENGTH_OFFSET, LAST_OFFSET_DELTA_OFFSET, LOG_OVERHEAD } from "../../src/protocol/batch-layout.ts";

const skip = testShards() > 1 ? "injects a file system into an in-process broker (not a sharded broker process)" : false;
const PARTITIONS = 3;
const RECORDS = 400;

/** Offset of the last record of each batch -> byte position just past that batch, for one segment file. */
function batchEnds(file: string): Map<number, number> {
  const buf = fs.readFileSync(file);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const ends = new Map<number, number>();
  for (let at = 0; at + LOG_OVERHEAD <= buf.length; ) {
    const length = dv.getInt32(at + BATCH_LENGTH_OFFSET);
    if (length === 0) break; // a preallocated zero tail (log.preallocate)
    const end = at + LOG_OVERHEAD + length;
    const last = Number(dv.getBigInt64(at)) + dv.getInt32(at + LAST_OFFSET_DELTA_OFFSET);
    ends.set(last, end);
    at = end;
  }
  return ends;
}

const MODES: Record<string, string>[] = [
  { "runnel.log.flush.rounds": "false" },
  { "runnel.log.flush.rounds": "true" },
  { "runnel.log.flush.overlapping": "2" },
  // The zero fill's own fdatasync must not let a flush that finds the segment clean answer before it completes.
  { "log.preallocate": "true" },
  { "log.preallocate": "true", "runnel.log.flush.overlapping": "2" },
];
/**
 * Sends RECORDS acks=all records to the 3 partitions of a new topic "acked" at `bootstrap` and checks each
 * acknowledgement against `durableNow(p)`, the bytes of partition p's segment file that were durable when it came.
 */
async function produceAndCheck(bootstrap: string, dataDir: string, durableNow: (partition: number) => number): Promise<void> {
  const admin = new Admin({ bootstrap, clientId: "durable-acks" });
  const producer = new Producer({ bootstrap, clientId: "durable-acks", acks: "all", lingerMs: 0, maxInFlightRequestsPerConnection: 5 });
  const segment = (p: number) => path.join(dataDir, `acked-${p}`, "00000000000000000000.log");
  try {
    await admin.connect();
    await admin.createTopics([{ name: "acked", numPartitions: PARTITIONS, replicationFactor: 1 }]);
    await producer.connect();
    const acks: { partition: number; offset: number; durableThen: number }[] = [];
    const sends: Promise<void>[] = [];
    for (let i = 0; i < RECORDS; i++) {
      const partition = i % PARTITIONS;
      sends.push(
        producer.send({ topic: "acked", partition, key: null, value: new TextEncoder().encode(`value-${i}`) }).then((m) => {
          acks.push({ partition, offset: Number(m.offset), durableThen: durableNow(partition) });
        }),
      );
      if (i % 25 === 24) await new Promise((r) => setTimeout(r, 1)); // let requests go out in several waves
    }
    await Promise.all(sends);
    assert.equal(acks.length, RECORDS);
    const ends = [0, 1, 2].map((p) => batchEnds(segment(p)));
    for (const a of acks) {
      // The batch holding the acknowledged offset: the first batch whose last offset is at or past it.
      let end = -1;
      for (const [last, e] of ends[a.partition]) {
        if (last >= a.offset && (end < 0 || e < end)) end = e;
      }
      assert.ok(end > 0, `offset ${a.offset} of partition ${a.partition} is in its segment file`);
      assert.ok(a.durableThen >= end, `partition ${a.partition} offset ${a.offset} was acknowledged when ${a.durableThen} bytes were durable; its batch ends at ${end}`);
    }
  } finally {
    await producer.close({ timeoutMs: 5000 }).catch(() => {});
    await admin.close().catch(() => {});
  }
}

for (const mode of MODES) {
  const label = Object.entries(mode).map(([k, v]) => `${k}=${v}`).join(" ");
  test(`acks=all answers only after an fdatasync covering its batch (${label})`, { skip, timeout: 60_000 }, async () => {
    const { fs: wrapped, probe } = wrappedFileSystem();
    let n = 0;
    probe.logDatasyncGate = () => new Promise((r) => setTimeout(r, 1 + (n++ % 7) * 2));
    const durable = new Map<string, number>();
    probe.onLogDatasynced = (file, size) => durable.set(file, Math.max(durable.get(file) ?? 0, size));
    const b = await startTestBroker(mode, undefined, undefined, { fs: wrapped });
    try {
      await produceAndCheck(b.bootstrap, b.dir, (p) => durable.get(path.join(b.dir, `acked-${p}`, "00000000000000000000.log")) ?? 0);
    } finally {
      probe.logDatasyncGate = null;
      await b.stop();
    }
  });
}

/**
 * The same on a 2-shard node (`runnel start --shards 2`, a process of its own, every thread accepting; tests/support/node-with-test-shard-worker.ts): its shards
 * run on the held-back, noting file system of tests/durability/fixtures/fdatasync-noting-shard-worker.ts, which
 * writes what each completed fdatasync made durable to a file per partition before the shard goes on, so the
 * test reads, when an acknowledgement arrives, what was durable before the node sent it. Two of the modes above.
 */
for (const mode of [MODES[0], MODES[4]]) {
  const label = Object.entries(mode).map(([k, v]) => `${k}=${v}`).join(" ");
  test(`a 2-shard node: acks=all answers only after an fdatasync covering its batch (${label})`, { timeout: 120_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-sharded-durable-acks-"));
    const noted = path.join(dir, "durable");
    fs.mkdirSync(noted);
    const dataDir = path.join(dir, "data");
    const args = ["--port", "0", "--data-dir", dataDir, "--shards", "2", ...Object.entries(mode).flatMap(([k, v]) => ["-o", `${k}=${v}`])];
    let node: NodeWithShardWorker | null = null;
    try {
      node = await startNodeWithShardWorker(path.join(import.meta.dirname, "fixtures", "fdatasync-noting-shard-worker.ts"), args, { RUNNEL_TEST_DURABLE_DIR: noted });
      const durableNow = (p: number) => {
        try {
          return Number(fs.readFileSync(path.join(noted, `acked-${p}`), "utf8"));
        } catch {
          return 0; // no fdatasync of that partition completed yet
        }
      };
      await produceAndCheck(`127.0.0.1:${node.port}`, dataDir, durableNow);
      assert.match(node.log(), /2 shards serving/);
      assert.equal(await node.stop(), 0, node.log().slice(-3000));
    } finally {
      await node?.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
