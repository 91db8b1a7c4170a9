/**
 * Issue 15, "nothing blocks the event loop", for lz4 and snappy: the broker's work on a large produced batch
 * (recompressing an uncompressed batch for a `compression.type=lz4|snappy` topic, decompressing a compressed one to
 * validate its records) runs in the codec pool's worker threads, never on the event loop: with the main thread's
 * lz4 and snappy refusing any input of OFF_LOOP_CODEC_MIN_BYTES or more, such batches are still stored (in the
 * topic's codec), a large corrupt one still gets CORRUPT_MESSAGE, and a later batch to the same partition from
 * another connection is appended after one still in a worker. A call the threads cannot finish runs on the loop.
 * What is stored is read by Fetch and ListOffsets, so against a sharded node (RUNNEL_TEST_SHARDS; its codecs are in its
 * own process, where this test cannot make the loop's refuse) the first tests check the stored codec, the records and
 * CORRUPT_MESSAGE; the tests that reach into the in-process codec pool run single-shard only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { IN_PROCESS } from "../support/group-state.ts";
import { fetchStored, logEndOffset } from "../support/topic-state.ts";
import { RawClient } from "../support/raw-client.ts";
import { wordBatch } from "../support/word-batch.ts";
import { assertHeldBatchKeepsItsPlace } from "../support/append-order.ts";
import { ATTRIBUTES_OFFSET, ATTR_COMPRESSION_MASK, BATCH_HEADER_SIZE, computeBatchCrc, dataViewOf } from "../../src/protocol/batch-layout.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { type CompressionCodec, initCompression, lz4Codec, OFF_LOOP_CODEC_MIN_BYTES, snappyCodec } from "../../src/compression/index.ts";
import { CodecThreadError } from "../../src/compression/codec-pool.ts";

await initCrc32c();
await initCompression();

const CODECS = [lz4Codec, snappyCodec];
const real = new Map(CODECS.map((c) => [c, { compress: c.compress, decompress: c.decompress }]));

/** Makes the main thread's lz4 and snappy refuse large inputs until the returned function restores them. */
function refuseLargeCodecWorkOnTheLoop(): () => void {
  for (const c of CODECS) {
    const r = real.get(c)!;
    c.compress = (data, level) => {
      if (data.length >= OFF_LOOP_CODEC_MIN_BYTES) throw new Error(`${c.name} compression of ${data.length} bytes on the event loop`);
      return r.compress(data, level);
    };
    c.decompress = (data, max) => {
      if (data.length >= OFF_LOOP_CODEC_MIN_BYTES) throw new Error(`${c.name} decompression of ${data.length} bytes on the event loop`);
      return r.decompress(data, max);
    };
  }
  return () => {
    for (const c of CODECS) Object.assign(c, real.get(c)!);
  };
}

/** A word batch of about `totalBytes`, compressed with `codec`'s real compressor when given. */
function codecWordBatch(totalBytes: number, opts: { codec?: CompressionCodec; producerId?: bigint; baseSequence?: number } = {}): { batch: Uint8Array; count: number } {
  const codec = opts.codec;
  const compressor = codec ? { codecId: codec.id, compress: (section: Uint8Array) => real.get(codec)!.compress(section) } : undefined;
  return wordBatch(totalBytes, { producerId: opts.producerId, baseSequence: opts.baseSequence, compressor, seed: 99 });
}

const produce = (c: RawClient, topic: string, records: Uint8Array, acks = 1) =>
  c.request(0, 9, { transactionalId: null, acks, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });

for (const codec of CODECS) {
  test(`large ${codec.name} work on produced batches runs in codec threads, never on the event loop`, { timeout: 120_000 }, async () => {
    const b = await startTestBroker();
    const c = await RawClient.connect(b.port);
    const restore = refuseLargeCodecWorkOnTheLoop();
    try {
      await b.broker.createTopic("recompressed", 1, 1, { "compression.type": codec.name }, false);
      await b.broker.createTopic("as-sent", 1, 1, {}, false);
      // An uncompressed batch the topic stores in its codec: compressed off the loop.
      const plain = codecWordBatch(900 * 1024);
      const r1 = await produce(c, "recompressed", plain.batch);
      assert.equal(r1.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE, r1.responses[0].partitionResponses[0].errorMessage);
      assert.equal(await logEndOffset(b.port, "recompressed"), BigInt(plain.count));
      const stored = await fetchStored(b.port, "recompressed");
      assert.equal(dataViewOf(stored).getInt16(ATTRIBUTES_OFFSET) & ATTR_COMPRESSION_MASK, codec.id, `stored as ${codec.name}`);
      const section = real.get(codec)!.decompress(stored.subarray(BATCH_HEADER_SIZE), 64 * 1024 * 1024);
      assert.deepEqual(section, plain.batch.subarray(BATCH_HEADER_SIZE), "the records as sent");

      // A compressed batch kept as sent: decompressed off the loop to check its records.
      const packed = codecWordBatch(900 * 1024, { codec });
      assert.ok(packed.batch.length >= OFF_LOOP_CODEC_MIN_BYTES);
      const r2 = await produce(c, "as-sent", packed.batch);
      assert.equal(r2.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE, r2.responses[0].partitionResponses[0].errorMessage);
      assert.equal(await logEndOffset(b.port, "as-sent"), BigInt(packed.count));

      // A large corrupt one (valid CRC): the worker's error still answers CORRUPT_MESSAGE.
      const bad = packed.batch.slice();
      for (let i = bad.length >> 1; i < bad.length - 8; i += 7) bad[i] ^= 0x5a;
      new DataView(bad.buffer).setUint32(17, computeBatchCrc(bad, 0, bad.length));
      const r3 = await produce(c, "as-sent", bad);
      assert.equal(r3.responses[0].partitionResponses[0].errorCode, ErrorCode.CORRUPT_MESSAGE);
    } finally {
      restore();
      c.close();
      await b.stop();
    }
  });
}

test("a batch sent on another connection while an earlier one of the same partition is in a codec thread is appended after it", { timeout: 60_000, skip: IN_PROCESS ? false : "holds a call in the in-process codec pool (single-shard only)" }, async () => {
  const b = await startTestBroker();
  try {
    await b.broker.createTopic("lz-order", 1, 1, { "compression.type": "lz4" }, false);
    await assertHeldBatchKeepsItsPlace(b, "lz-order", lz4Codec, (started, until) => {
      const pool = b.broker.codecPool;
      const run = pool.run;
      pool.run = (codecId, decompress, data, arg) => {
        const out = run.call(pool, codecId, decompress, data, arg);
        started();
        return out === null ? null : until.then(() => out);
      };
      return () => void (pool.run = run);
    });
  } finally {
    await b.stop();
  }
});

test("a call the codec threads cannot finish (a worker died, the pool closed) runs on the loop and the batch is stored", { timeout: 60_000, skip: IN_PROCESS ? false : "fails the in-process codec pool's calls (single-shard only)" }, async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  const pool = b.broker.codecPool;
  const run = pool.run;
  let failed = 0;
  try {
    await b.broker.createTopic("fallback", 1, 1, { "compression.type": "snappy" }, false);
    pool.run = () => (failed++, Promise.reject(new CodecThreadError("codec worker ended during a call: test")));
    const plain = codecWordBatch(400 * 1024);
    const r = await produce(c, "fallback", plain.batch);
    assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE, r.responses[0].partitionResponses[0].errorMessage);
    assert.equal(failed, 1, "the pool was asked first");
    const stored = b.broker.partition("fallback", 0)!.log.read(0n, 1 << 24, true).chunks[0];
    assert.equal(dataViewOf(stored).getInt16(ATTRIBUTES_OFFSET) & ATTR_COMPRESSION_MASK, snappyCodec.id);
    assert.equal(b.broker.partition("fallback", 0)!.log.logEndOffset, BigInt(plain.count));
  } finally {
    pool.run = run;
    c.close();
    await b.stop();
  }
});
