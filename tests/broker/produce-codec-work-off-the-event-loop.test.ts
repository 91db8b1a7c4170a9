/**
 * Issue 15, "nothing blocks the event loop", for the compression pipeline: the broker compresses a large
 * uncompressed batch for a `compression.type=gzip` or `zstd` topic, and inflates a large gzip batch to validate
 * it, through node:zlib streams slice by slice, so another connection's request is answered while it compresses; a later batch to the same partition, sent
 * on another connection while an earlier one is still being compressed, is appended after it (offsets and
 * idempotent sequences in arrival order); a large corrupt gzip payload with a valid CRC still gets CORRUPT_MESSAGE.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { computeBatchCrc } from "../../src/protocol/batch-layout.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { type CompressionCodec, gzipCodec, zstdCodec } from "../../src/compression/index.ts";

await initCrc32c();

/** Records of pseudo-random words (gzip works at text speed on them, unlike on repeated bytes). */
function wordBatch(totalBytes: number, opts: { producerId?: bigint; baseSequence?: number; codec?: "gzip" | "zstd" } = {}): { batch: Uint8Array; count: number } {
  const words = ["stream", "broker", "offset", "replica", "segment", "commit", "leader", "record", "fetch", "epoch"];
  const bb = new BatchBuilder(totalBytes + 4096);
  bb.reset({ producerId: opts.producerId, producerEpoch: opts.producerId === undefined ? undefined : 0, baseSequence: opts.baseSequence });
  let seed = 12345;
  const enc = new TextEncoder();
  let count = 0;
  while (bb.sizeInBytes < totalBytes - 2048) {
    let s = "";
    while (s.length < 1000) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      s += words[seed % words.length] + (seed >>> 20).toString(36) + " ";
    }
    bb.append(Date.now(), null, enc.encode(s));
    count++;
  }
  const compress = opts.codec === "gzip" ? zlib.gzipSync : zlib.zstdCompressSync;
  return { batch: bb.finish(opts.codec ? { codecId: opts.codec === "gzip" ? 1 : 4, compress: (section) => new Uint8Array(compress(section)) } : undefined), count };
}

/**
 * Watches `codec` while the broker works: resolves `started` when it is asked to compress at least `minBytes` (on
 * or off the loop), and `finished()` tells whether that compression has ended. A synchronous compression starts and
 * ends in one turn of the loop, so nothing else can run in between.
 */
function watchCompression(codec: CompressionCodec, minBytes: number): { started: Promise<void>; finished: () => boolean; restore: () => void } {
  const { compress, compressAsync } = codec;
  let started!: () => void;
  const startedP = new Promise<void>((resolve) => (started = resolve));
  let done = false;
  codec.compress = (data, level) => {
    if (data.length < minBytes) return compress.call(codec, data, level);
    started();
    try {
      return compress.call(codec, data, level);
    } finally {
      done = true;
    }
  };
  if (compressAsync) {
    codec.compressAsync = async (data, level) => {
      if (data.length < minBytes) return compressAsync.call(codec, data, level);
      started();
      try {
        return await compressAsync.call(codec, data, level);
      } finally {
        done = true;
      }
    };
  }
  return {
    started: startedP,
    finished: () => done,
    restore: () => {
      codec.compress = compress;
      codec.compressAsync = compressAsync;
    },
  };
}

const BIG = 48 * 1024 * 1024;

for (const { codec, mib, level } of [{ codec: "gzip", mib: 48, level: 9 }, { codec: "zstd", mib: 16, level: 12 }]) {
  test(`a ${mib} MiB batch compressed by the broker for a compression.type=${codec} topic (level ${level}) does not stall the event loop`, { timeout: 120_000 }, async () => {
    const b = await startTestBroker({ "socket.request.max.bytes": String(2 * BIG) });
    const c = await RawClient.connect(b.port);
    const other = await RawClient.connect(b.port);
    // The positive event: a request on another connection is answered while the broker is still compressing (a
    // level-9 gzip of 48 MiB or level-12 zstd of 16 MiB is seconds of codec work; a round trip is a few loop turns).
    const watch = watchCompression(codec === "gzip" ? gzipCodec : zstdCodec, (mib * 1024 * 1024) / 2);
    try {
      await b.broker.createTopic("big", 1, 1, { "compression.type": codec, [`compression.${codec}.level`]: String(level), "max.message.bytes": String(BIG + (1 << 20)) }, false);
      const { batch, count } = wordBatch(mib * 1024 * 1024);
      const sent = c.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 60_000, topicData: [{ name: "big", partitionData: [{ index: 0, records: batch }] }] });
      const first = await Promise.race([watch.started.then(() => "compressing"), sent.then(() => "answered")]);
      assert.equal(first, "compressing", `the broker compresses the batch with ${codec}`);
      const versions = await other.request(18, 3, { clientSoftwareName: "raw", clientSoftwareVersion: "1" });
      const compressedBeforeAnswer = watch.finished();
      assert.equal(versions.errorCode, ErrorCode.NONE);
      const r = await sent;
      assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
      const p = b.broker.topicsByName.get("big")!.partitions[0];
      assert.equal(p.log.logEndOffset, BigInt(count));
      assert.equal(compressedBeforeAnswer, false, `another connection's ApiVersions waited until the broker had compressed ${mib} MiB with ${codec}`);
    } finally {
      watch.restore();
      c.close();
      other.close();
      await b.stop();
    }
  });
}

for (const codec of ["gzip", "zstd"] as const) {
  test(`a large ${codec} batch is decompressed for validation off the loop; a large corrupt one with a valid CRC gets CORRUPT_MESSAGE`, { timeout: 120_000 }, async () => {
    const b = await startTestBroker({ "socket.request.max.bytes": String(2 * BIG) });
    const c = await RawClient.connect(b.port);
    try {
      await b.broker.createTopic("in", 1, 1, { "max.message.bytes": String(BIG + (1 << 20)) }, false);
      const { batch: good, count } = wordBatch(8 * 1024 * 1024, { codec });
      assert.ok(good.length >= 64 * 1024, "big enough to go off the loop");
      const bad = good.slice();
      for (let i = good.length >> 1; i < good.length - 8; i += 7) bad[i] ^= 0x5a; // mangle the compressed stream
      new DataView(bad.buffer).setUint32(17, computeBatchCrc(bad, 0, bad.length));
      const produce = (records: Uint8Array) => c.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 60_000, topicData: [{ name: "in", partitionData: [{ index: 0, records }] }] });
      const r1 = await produce(bad);
      assert.equal(r1.responses[0].partitionResponses[0].errorCode, ErrorCode.CORRUPT_MESSAGE);
      const r2 = await produce(good);
      assert.equal(r2.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE, r2.responses[0].partitionResponses[0].errorMessage);
      assert.equal(r2.responses[0].partitionResponses[0].baseOffset, 0n);
      assert.equal(b.broker.topicsByName.get("in")!.partitions[0].log.logEndOffset, BigInt(count));
    } finally {
      c.close();
      await b.stop();
    }
  });
}

test("a batch sent on another connection while an earlier one of the same partition is being gzipped is appended after it", { timeout: 60_000 }, async () => {
  const b = await startTestBroker();
  const c1 = await RawClient.connect(b.port);
  const c2 = await RawClient.connect(b.port);
  const compressAsync = gzipCodec.compressAsync!;
  const decompress = gzipCodec.decompress;
  try {
    await b.broker.createTopic("gz-order", 1, 1, { "compression.type": "gzip" }, false);
    const init = await c1.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    assert.equal(init.errorCode, ErrorCode.NONE);
    const producerId: bigint = init.producerId;
    const first = wordBatch(256 * 1024, { producerId, baseSequence: 0 });
    // The second batch: small and already gzip, so the broker only inflates it on the loop.
    const bb = new BatchBuilder(1 << 16);
    bb.reset({ producerId, producerEpoch: 0, baseSequence: first.count });
    for (let i = 0; i < 5; i++) bb.append(Date.now(), null, new TextEncoder().encode(`later-${i}`));
    const second = bb.finish({ codecId: 1, compress: (s) => new Uint8Array(zlib.gzipSync(s)) });

    // Hold the first batch's compression until the second batch has been validated by the broker.
    let compressing!: () => void;
    const firstCompressing = new Promise<void>((resolve) => (compressing = resolve));
    let validated!: () => void;
    const secondValidated = new Promise<void>((resolve) => (validated = resolve));
    gzipCodec.compressAsync = async (data, level) => {
      compressing();
      await secondValidated;
      return compressAsync(data, level);
    };
    gzipCodec.decompress = (data, max) => {
      validated();
      return decompress(data, max);
    };
    const produce = (c: RawClient, records: Uint8Array) =>
      c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: "gz-order", partitionData: [{ index: 0, records }] }] });
    const r1 = produce(c1, first.batch);
    await firstCompressing;
    const r2 = produce(c2, second);
    const [a, z] = await Promise.all([r1, r2]);
    assert.equal(a.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    assert.equal(z.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE, "the second batch's sequence follows the first's");
    assert.equal(a.responses[0].partitionResponses[0].baseOffset, 0n);
    assert.equal(z.responses[0].partitionResponses[0].baseOffset, BigInt(first.count));
  } finally {
    gzipCodec.compressAsync = compressAsync;
    gzipCodec.decompress = decompress;
    c1.close();
    c2.close();
    await b.stop();
  }
});
