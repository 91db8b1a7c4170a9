/**
 * An acks=all Produce is answered only after an fdatasync that covers its batch has completed, with per-partition
 * group commit, with broker-wide flush rounds (`runnel.log.flush.rounds=true`), with overlapping flushes and with
 * `log.preallocate` (alone and with overlapping flushes). The broker runs on a file
 * system that delays every segment fdatasync by a varying few milliseconds and notes, when one completes, how
 * many bytes of that file it made durable; each acknowledgement the producer gets is checked against what was
 * durable at that moment: the end of its batch in the segment file must be.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startTestBroker } from "../support/broker.ts";
import { testShards } from "../support/broker-process.ts";
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
for (const mode of MODES) {
  const label = Object.entries(mode).map(([k, v]) => `${k}=${v}`).join(" ");
  test(`acks=all answers only after an fdatasync covering its batch (${label})`, { skip, timeout: 60_000 }, async () => {
    const { fs: wrapped, probe } = wrappedFileSystem();
    let n = 0;
    probe.logDatasyncGate = () => new Promise((r) => setTimeout(r, 1 + (n++ % 7) * 2));
    const durable = new Map<string, number>();
    probe.onLogDatasynced = (file, size) => durable.set(file, Math.max(durable.get(file) ?? 0, size));
    const b = await startTestBroker(mode, undefined, undefined, { fs: wrapped });
    const admin = new Admin({ bootstrap: b.bootstrap, clientId: "durable-acks" });
    const producer = new Producer({ bootstrap: b.bootstrap, clientId: "durable-acks", acks: "all", lingerMs: 0, maxInFlightRequestsPerConnection: 5 });
    const segment = (p: number) => path.join(b.dir, `acked-${p}`, "00000000000000000000.log");
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
            acks.push({ partition, offset: Number(m.offset), durableThen: durable.get(segment(partition)) ?? 0 });
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
      probe.logDatasyncGate = null;
      await producer.close({ timeoutMs: 5000 }).catch(() => {});
      await admin.close().catch(() => {});
      await b.stop();
    }
  });
}
