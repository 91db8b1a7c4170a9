/** Codec lookup by Kafka codec id and by `compression.type` name, and resolution of "producer". */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ALL_CODECS,
  codecById,
  codecByName,
  codecIdByName,
  COMPRESSION_TYPE_NAMES,
  gzipCodec,
  initCompression,
  isCompressionTypeName,
  lz4Codec,
  resolveCodecId,
  snappyCodec,
  UnsupportedCompressionTypeError,
  zstdCodec,
} from "../../src/compression/index.ts";

test("codec ids match Kafka attribute bits 0-2", () => {
  assert.equal(codecById(0), null);
  assert.equal(codecById(1), gzipCodec);
  assert.equal(codecById(2), snappyCodec);
  assert.equal(codecById(3), lz4Codec);
  assert.equal(codecById(4), zstdCodec);
  assert.deepEqual(ALL_CODECS.map((c) => [c.id, c.name]), [[1, "gzip"], [2, "snappy"], [3, "lz4"], [4, "zstd"]]);
});

test("unknown codec ids throw UnsupportedCompressionTypeError", () => {
  for (const id of [5, 6, 7, -1, 1.5, 8]) {
    assert.throws(() => codecById(id), UnsupportedCompressionTypeError);
  }
});

test("compression.type names map to codecs; none and uncompressed mean no codec", () => {
  assert.equal(codecByName("none"), null);
  assert.equal(codecByName("uncompressed"), null);
  assert.equal(codecByName("gzip"), gzipCodec);
  assert.equal(codecByName("snappy"), snappyCodec);
  assert.equal(codecByName("lz4"), lz4Codec);
  assert.equal(codecByName("zstd"), zstdCodec);
  assert.throws(() => codecByName("GZIP"), UnsupportedCompressionTypeError);
  assert.throws(() => codecByName("brotli"), UnsupportedCompressionTypeError);
  assert.throws(() => codecByName("producer"), /producer/);
  assert.equal(codecIdByName("uncompressed"), 0);
  assert.equal(codecIdByName("zstd"), 4);
});

test("every Kafka compression.type value is recognised", () => {
  for (const name of ["none", "uncompressed", "gzip", "snappy", "lz4", "zstd", "producer"]) {
    assert.ok(isCompressionTypeName(name), name);
  }
  assert.equal(COMPRESSION_TYPE_NAMES.length, 7);
  assert.equal(isCompressionTypeName("deflate"), false);
});

test("'producer' keeps the producer's codec; other names override it", () => {
  assert.equal(resolveCodecId("producer", 3), 3);
  assert.equal(resolveCodecId("producer", 0), 0);
  assert.equal(resolveCodecId("zstd", 1), 4);
  assert.equal(resolveCodecId("uncompressed", 2), 0);
  assert.throws(() => resolveCodecId("producer", 6), UnsupportedCompressionTypeError);
});

test("initCompression can be called repeatedly and concurrently", async () => {
  await Promise.all([initCompression(), initCompression()]);
  await initCompression();
  const data = new TextEncoder().encode("still works");
  for (const codec of ALL_CODECS) {
    assert.deepEqual(codec.decompress(codec.compress(data), data.length), data);
  }
});
