/**
 * Issue 15, "nothing blocks the event loop", for the compression pipeline: the broker compresses a large
 * uncompressed batch for a `compression.type=gzip` or `zstd` topic, and inflates a large gzip batch to validate
 * it, through node:zlib streams slice by slice, so another connection's request is answered while it compresses; a later batch to the same partition, sent
 * on another connection while an earlier one is still being compressed, is appended after it (offsets and
 * idempotent sequences in arrival order); a large corrupt gzip payload with a valid CRC still gets CORRUPT_MESSAGE.
 * Against a sharded node (its codecs run in its own process, where no test can watch them) only the validation test
 * runs, reading the log end by ListOffsets.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { IN_PROCESS } from "../support/group-state.ts";
import { wordBatch } from "../support/word-batch.ts";
import { assertHeldBatchKeepsItsPlace } from "../support/append-order.ts";
import { computeBatchCrc } from "../../src/protocol/batch-layout.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { type CompressionCodec, gzipCodec, zstdCodec } from "../../src/compression/index.ts";

await initCrc32c();

const WATCHES_CODECS = IN_PROCESS ? false : "watches the codec objects of the in-process broker (single-shard only)";

/** A word batch, compressed with node:zlib's gzip or zstd when `codec` is given. */
function zlibWordBatch(totalBytes: number, opts: { producerId?: bigint; baseSequence?: number; codec?: "gzip" | "zstd" } = {}): { batch: Uint8Array; count: number } {
  const compress = opts.codec === "gzip" ? zlib.gzipSync : zlib.zstdCompressSync;
  const compressor = opts.codec ? { codecId: opts.codec === "gzip" ? 1 : 4, compress: (section: Uint8Array) => new Uint8Array(compress(section)) } : undefined;
  return wordBatch(totalBytes, { producerId: opts.producerId, baseSequence: opts.baseSequence, compressor });
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
  test(`a ${mib} MiB batch compressed by the broker for a compression.type=${codec} topic (level ${level}) does not stall the event loop`, { timeout: 120_000, skip: WATCHES_CODECS }, async () => {
    const b = await startTestBroker({ "socket.request.max.bytes": String(2 * BIG) });
    const c = await RawClient.connect(b.port);
    const other = await RawClient.connect(b.port);
    // The positive event: a request on another connection is answered while the broker is still compressing (a
    // level-9 gzip of 48 MiB or level-12 zstd of 16 MiB is seconds of codec work; a round trip is a few loop turns).
    const watch = watchCompression(codec === "gzip" ? gzipCodec : zstdCodec, (mib * 1024 * 1024) / 2);
    try {
      await b.broker.createTopic("big", 1, 1, { "compression.type": codec, [`compression.${codec}.level`]: String(level), "max.message.bytes": String(BIG + (1 << 20)) }, false);
      const { batch, count } = zlibWordBatch(mib * 1024 * 1024);
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
      const { batch: good, count } = zlibWordBatch(8 * 1024 * 1024, { codec });
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
      const end = await c.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: "in", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
      assert.equal(end.topics[0].partitions[0].offset, BigInt(count), "the good batch's records are the log, the corrupt one left nothing");
    } finally {
      c.close();
      await b.stop();
    }
  });
}

test("a batch sent on another connection while an earlier one of the same partition is being gzipped is appended after it", { timeout: 60_000, skip: WATCHES_CODECS }, async () => {
  const b = await startTestBroker();
  try {
    await b.broker.createTopic("gz-order", 1, 1, { "compression.type": "gzip" }, false);
    await assertHeldBatchKeepsItsPlace(b, "gz-order", gzipCodec, (started, until) => {
      const compressAsync = gzipCodec.compressAsync!;
      gzipCodec.compressAsync = async (data, level) => {
        started();
        await until;
        return compressAsync(data, level);
      };
      return () => void (gzipCodec.compressAsync = compressAsync);
    });
  } finally {
    await b.stop();
  }
});
