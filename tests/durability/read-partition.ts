/**
 * Checks for durability tests: reads one partition back with plain Fetch requests (maxWait 0), offset -> key of
 * every record (marked when its value is not `valueBytes` long), stopping at the high watermark or where the broker
 * answers nothing below it (a hole left by forgotten data, where a consumer would wait forever); parses the
 * producer's acknowledgements; asks DescribeLogDirs for each dir's error; waits for a broker log line.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { BrokerProcess } from "../support/broker-process.ts";
import { RawClient } from "../support/raw-client.ts";
import { RecordCursor } from "../../src/protocol/record-batch.ts";

/** Offset -> key of every record of `topic`-`partition` on the broker at 127.0.0.1:`port`. */
export async function readPartition(port: number, topic: string, partition: number, valueBytes: number): Promise<Map<number, string>> {
  const c = await RawClient.connect(port);
  const present = new Map<number, string>();
  const cursor = new RecordCursor();
  try {
    let offset = 0n;
    for (;;) {
      const res = await c.request(1, 12, {
        maxWaitMs: 0, minBytes: 0, maxBytes: 8 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 8 << 20 }] }], forgottenTopicsData: [], rackId: "",
      });
      const p = res.responses[0].partitions[0];
      assert.equal(p.errorCode, 0, `fetch of ${topic}-${partition} at ${offset}: error ${p.errorCode}`);
      const records: Uint8Array | null = p.records;
      if (records === null || records.length === 0) break;
      const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
      for (let at = 0; at + 12 <= records.length; ) {
        const size = 12 + dv.getInt32(at + 8);
        if (at + size > records.length) break;
        cursor.resetBatch(records, at, size);
        while (cursor.next()) {
          const o = BigInt(cursor.baseOffset) + BigInt(cursor.offsetDelta);
          const key = new TextDecoder().decode(records.subarray(cursor.keyStart, cursor.keyStart + cursor.keyLength));
          present.set(Number(o), cursor.valueLength === valueBytes ? key : `${key} (${cursor.valueLength} bytes)`);
          if (o >= offset) offset = o + 1n;
        }
        at += size;
      }
      if (offset >= p.highWatermark) break;
    }
  } finally {
    c.close();
  }
  return present;
}

/** Offset -> key of the acknowledgements acked_producer.py printed ("OFFSET KEY" lines). */
export function parseAcks(out: string): Map<number, string> {
  const acked = new Map<number, string>();
  for (const line of out.split("\n")) {
    if (!line) continue;
    const [offset, key] = line.split(" ");
    acked.set(Number(offset), key);
  }
  return acked;
}

/** The acknowledged records (offset -> key) that `present` (what a read found) does not hold at their offset, one line each. */
export function ackedNotPresent(acked: Map<number, string>, present: Map<number, string>): string[] {
  return [...acked].filter(([o, k]) => present.get(o) !== k).map(([o, k]) => `offset ${o}: acknowledged ${k}, found ${present.get(o) ?? "nothing"}`);
}

/** Log dir -> DescribeLogDirs error code (0, or KAFKA_STORAGE_ERROR for an offline dir). */
export async function logDirErrors(port: number): Promise<Map<string, number>> {
  const c = await RawClient.connect(port);
  try {
    const res = await c.request(35, 4, { topics: null });
    return new Map(res.results.map((r: { logDir: string; errorCode: number }) => [r.logDir, r.errorCode]));
  } finally {
    c.close();
  }
}

/** Waits for a line matching `re` in the broker's log (a positive event). */
export async function brokerLogLine(b: BrokerProcess, re: RegExp, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!re.test(b.log())) {
    if (Date.now() > deadline) throw new Error(`no ${what} in ${timeoutMs} ms:\n${b.log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Creates `topic` with 4 partitions (CreateTopics) and waits until each has its directory; returns a partition in
 * log dir `a` and one in `b`. A broker puts a new partition on the dir holding the fewest; on a sharded node each
 * shard counts its own, so which partition lands where differs, but both dirs get some.
 */
export async function partitionInEachDir(port: number, topic: string, a: string, b: string): Promise<{ inA: number; inB: number }> {
  const c = await RawClient.connect(port);
  try {
    const r = await c.request(19, 7, { topics: [{ name: topic, numPartitions: 4, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false });
    assert.equal(r.topics[0].errorCode, 0, `CreateTopics ${topic}`);
  } finally {
    c.close();
  }
  const where = (p: number) => [a, b].find((d) => fs.existsSync(path.join(d, `${topic}-${p}`)));
  const deadline = Date.now() + 30_000;
  while ([0, 1, 2, 3].some((p) => where(p) === undefined)) {
    if (Date.now() > deadline) throw new Error(`the partitions of ${topic} got no directories in 30 s`);
    await new Promise((res) => setTimeout(res, 50));
  }
  const inA = [0, 1, 2, 3].find((p) => where(p) === a);
  const inB = [0, 1, 2, 3].find((p) => where(p) === b);
  assert.ok(inA !== undefined && inB !== undefined, `${topic} has partitions in both log dirs`);
  return { inA, inB };
}
