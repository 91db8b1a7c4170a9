/**
 * The default partitioner: Kafka's murmur2 (vectors from the Java client's UtilsTest.testMurmur2), the same
 * partitions as kafkajs's Java-compatible partitioner for many keys, and sticky partitioning for null keys.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { Buffer } from "node:buffer";
import { DefaultPartitioner, murmur2, partitionForKey, toPositive } from "../../src/client/partitioner.ts";

const enc = new TextEncoder();

test("murmur2 matches the Java client's Utils.murmur2 test vectors", () => {
  const vectors: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ];
  for (const [s, want] of vectors) assert.equal(murmur2(enc.encode(s)), want, s);
  // Strings hashed as UTF-8 bytes like Java's getBytes(UTF_8).
  assert.equal(murmur2(enc.encode("1")), -1993445489);
  assert.equal(murmur2(enc.encode("12345")), -1188365604);
});

test("toPositive clears the sign bit, including for -2^31", () => {
  assert.equal(toPositive(-1), 0x7fffffff);
  assert.equal(toPositive(-0x80000000), 0);
  assert.equal(toPositive(12345), 12345);
});

test("keyed records land on the partitions kafkajs's Java-compatible partitioner picks", () => {
  const require = createRequire(import.meta.url);
  const kafkajsMurmur2 = require("kafkajs/src/producer/partitioners/default/murmur2.js");
  let seed = 12345;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 500; i++) {
    const len = Math.floor(rand() * 40);
    const key = new Uint8Array(len);
    for (let j = 0; j < len; j++) key[j] = Math.floor(rand() * 256);
    const theirs = kafkajsMurmur2(Buffer.from(key));
    assert.equal(murmur2(key), theirs, `key ${Buffer.from(key).toString("hex")}`);
    for (const n of [1, 3, 7, 12, 100]) assert.equal(partitionForKey(key, n), toPositive(theirs) % n);
  }
});

test("null keys stick to one partition until batch.size bytes in full batches, then move to another", () => {
  const randoms = [0.5, 0.0, 0.99];
  let i = 0;
  const p = new DefaultPartitioner(100, () => randoms[i++ % randoms.length]);
  const first = p.partition("t", null, 4, [0, 1, 2, 3]);
  assert.equal(first, 2);
  for (let k = 0; k < 9; k++) {
    assert.equal(p.partition("t", null, 4, [0, 1, 2, 3]), first);
    p.onAppend("t", first, 10, true);
  }
  assert.equal(p.partition("t", null, 4, [0, 1, 2, 3]), first, "90 bytes < batch.size: still sticky");
  p.onAppend("t", first, 10, true);
  const second = p.partition("t", null, 4, [0, 1, 2, 3]);
  assert.notEqual(second, first, "after batch.size bytes the partition changes");
  assert.equal(second, 0);
  // Keys are unaffected by the sticky choice.
  assert.equal(p.partition("t", enc.encode("21"), 4, [0, 1, 2, 3]), toPositive(-973932308) % 4);
});

test("sticky choice only uses partitions that have a leader", () => {
  const p = new DefaultPartitioner(10, () => 0.999);
  assert.equal(p.partition("t", null, 6, [1, 4]), 4);
  p.onAppend("t", 4, 10, true);
  assert.equal(p.partition("t", null, 6, [1, 4]), 1, "switches away from 4 to the only other available one");
  // Leader of the sticky partition disappears: re-chosen among available ones.
  assert.equal(p.partition("t", null, 6, [3]), 3);
});

test("the sticky choice spreads evenly over partitions over time", () => {
  let seed = 7;
  const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const p = new DefaultPartitioner(1000, rand);
  const counts = new Array(5).fill(0);
  for (let k = 0; k < 50_000; k++) {
    const part = p.partition("t", null, 5, [0, 1, 2, 3, 4]);
    counts[part]++;
    p.onAppend("t", part, 100, true);
  }
  for (const c of counts) assert.ok(c > 7000 && c < 13000, `uneven spread ${counts}`);
});

test("a sticky partition is kept past batch.size while its batch has room, and left when the batch is full or at twice batch.size", () => {
  const p = new DefaultPartitioner(100, () => 0.5);
  const first = p.partition("t", null, 4, []);
  p.onAppend("t", first, 60, false);
  assert.equal(p.onNewBatch("t", first), false, "60 bytes < batch.size: a new batch stays on the partition");
  p.onAppend("t", first, 60, false);
  assert.equal(p.partition("t", null, 4, []), first, "120 bytes but the open batch has room: no switch in mid-batch");
  assert.equal(p.onNewBatch("t", first), true, "the next record would open a new batch: switch");
  const second = p.partition("t", null, 4, []);
  assert.notEqual(second, first);
  assert.equal(p.onNewBatch("t", first), false, "only the current sticky partition is left");
  for (let k = 0; k < 3; k++) p.onAppend("t", second, 60, false);
  assert.equal(p.partition("t", null, 4, []), second, "180 bytes, open batch has room");
  p.onAppend("t", second, 60, false);
  assert.notEqual(p.partition("t", null, 4, []), second, "240 bytes >= 2 x batch.size: switch even in mid-batch");
});
