/**
 * Large Produce frames arrive in several chunks and are received into buffers that the broker reuses once each
 * request is answered (src/broker/frame-buffer-pool.ts). Pipelined 600 KiB batches with distinct contents on two
 * connections, acks=1 and acks=0 mixed, must all be stored byte for byte as sent (apart from the base offset and
 * leader epoch the broker sets): a buffer reused while its records were still needed would show as a batch whose
 * bytes belong to another.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();

const BATCH_BYTES = 600 * 1024;
const PER_CONNECTION = 8;

/** A batch of 1 KiB records whose values are derived from `seed`, so any two batches differ everywhere. */
function batch(seed: number): Uint8Array {
  const b = new BatchBuilder(BATCH_BYTES);
  b.reset({});
  const value = new Uint8Array(1000);
  let x = seed * 2654435761;
  for (let i = 0; i < value.length; i++) value[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  while (b.append(1_700_000_000_000 + seed, null, value)) value[0]++;
  return b.finish();
}

test("pipelined large produce frames on several connections are stored exactly as sent", { timeout: 120_000 }, async () => {
  const b = await startTestBroker();
  const clients = await Promise.all([0, 1].map(() => RawClient.connect(b.port)));
  try {
    await b.broker.createTopic("big", 2, 1, {}, false);
    const sent: Uint8Array[][] = [[], []];
    await Promise.all(
      clients.map((c, ci) => {
        const answers: Promise<unknown>[] = [];
        for (let i = 0; i < PER_CONNECTION; i++) {
          const records = batch(ci * 1000 + i);
          sent[ci].push(records);
          const acks = i % 3 === 2 ? 0 : 1;
          const body = { transactionalId: null, acks, timeoutMs: 30_000, topicData: [{ name: "big", partitionData: [{ index: ci, records }] }] };
          if (acks === 0) void c.sendRaw(c.frame(0, 9, body), false);
          else answers.push(c.request(0, 9, body).then((r) => assert.equal(r.responses[0].partitionResponses[0].errorCode, 0)));
        }
        return Promise.all(answers);
      }),
    );
    const reader = clients[0];
    for (const p of [0, 1]) {
      const stored: Uint8Array[] = [];
      let offset = 0n;
      while (stored.length < PER_CONNECTION) {
        const r = await reader.request(1, 12, {
          maxWaitMs: 500, minBytes: 1, maxBytes: 1 << 24, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
          topics: [{ topic: "big", partitions: [{ partition: p, fetchOffset: offset, partitionMaxBytes: 1 << 24 }] }], forgottenTopicsData: [], rackId: "",
        });
        const part = r.responses[0].partitions[0];
        assert.equal(part.errorCode, 0);
        const recs = part.records as Uint8Array;
        const dv = new DataView(recs.buffer, recs.byteOffset, recs.length);
        for (let at = 0; at + 61 <= recs.length; ) {
          const size = dv.getInt32(at + 8) + 12;
          if (at + size > recs.length) break;
          stored.push(recs.slice(at, at + size));
          offset = dv.getBigInt64(at) + BigInt(dv.getInt32(at + 23)) + 1n;
          at += size;
        }
      }
      assert.equal(stored.length, PER_CONNECTION);
      for (let i = 0; i < PER_CONNECTION; i++) {
        // From the magic byte on (CRC, attributes, producer fields, records) the batch is the client's.
        assert.ok(Buffer.from(stored[i].subarray(16)).equals(Buffer.from(sent[p][i].subarray(16))), `partition ${p} batch ${i} differs from the one sent`);
      }
    }
  } finally {
    for (const c of clients) c.close();
    await b.stop();
  }
});
