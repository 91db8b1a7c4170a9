import assert from "node:assert/strict";
import { test } from "node:test";
import { murmur3x86128 } from "../../src/storage/cleaner-key-hash.ts";
import { KeyOffsetMap, OFFSET_MAP_SLOT_BYTES } from "../../src/storage/cleaner-offset-map.ts";
import { openTestLog } from "./log-fixture.ts";
import { keyedBatch, latestByKey, readLog } from "./log-cleaner-records.ts";

test("the key hash is MurmurHash3 x86_128 (SMHasher verification value 0xB3ECE62A)", () => {
  const key = new Uint8Array(256);
  const hashes = new Uint8Array(16 * 256);
  const dv = new DataView(hashes.buffer);
  const out = new Uint32Array(4);
  for (let i = 0; i < 256; i++) {
    key[i] = i;
    murmur3x86128(key, 0, i, 256 - i, out);
    for (let w = 0; w < 4; w++) dv.setUint32(i * 16 + w * 4, out[w], true);
  }
  murmur3x86128(hashes, 0, hashes.length, 0, out);
  assert.equal(out[0], 0xb3ece62a);
});

test("the offset map keeps the largest offset per key and refuses new keys only when every slot is taken", () => {
  const map = new KeyOffsetMap(1024 * OFFSET_MAP_SLOT_BYTES);
  map.reset(10);
  const enc = new TextEncoder();
  const key = (s: string) => {
    const b = enc.encode(s);
    map.hashKey(b, 0, b.length);
  };
  key("a");
  assert.equal(map.latestFor(), -1);
  assert.ok(map.put(5));
  key("a");
  assert.ok(map.put(3));
  key("a");
  assert.equal(map.latestFor(), 5, "a smaller offset never replaces a larger one");
  key("b");
  assert.ok(map.put(9));
  assert.equal(map.size, 2);
  assert.equal(map.latest, 9);
  assert.equal(map.maxEntries, 768);
  for (let i = 0; map.size < 1024; i++) {
    key(`k${i}`);
    assert.ok(map.put(100 + i));
  }
  key("one more");
  assert.equal(map.put(1), false);
  key("b");
  assert.ok(map.put(10), "an existing key can still move");
  map.reset(10);
  assert.equal(map.size, 0);
  key("a");
  assert.equal(map.latestFor(), -1, "reset forgets everything");
  assert.throws(() => new KeyOffsetMap(1000), RangeError);
});

test("the map is sized to the dirty section, not to the whole dedupe buffer", () => {
  const map = new KeyOffsetMap(16 * 1024 * 1024);
  map.reset(100);
  assert.ok(map.allocatedBytes < 64 * 1024, `allocated ${map.allocatedBytes}`);
  map.reset(1e9);
  assert.ok(map.allocatedBytes <= 16 * 1024 * 1024);
  assert.equal(map.maxEntries, map.maxEntriesLimit);
});

test("when the dirty section has more keys than the dedupe buffer holds, each pass cleans what it mapped and the next goes on", async () => {
  const t = await openTestLog({ cleanupPolicy: ["compact"], segmentBytes: 8000 });
  try {
    const KEYS = 2000;
    for (let round = 0; round < 2; round++) {
      for (let b = 0; b < KEYS / 100; b++) {
        const recs = Array.from({ length: 100 }, (_, i) => ({ k: `key-${b * 100 + i}`, v: `r${round}` }));
        t.log.append(keyedBatch(recs), { leaderEpoch: 0 });
      }
    }
    t.log.append(keyedBatch([{ k: "tail", v: "x" }]), { leaderEpoch: 0 });
    t.log.highWatermark = t.log.logEndOffset;
    const activeBase = t.log.segmentBaseOffsets().at(-1)!;
    const before = readLog(t.log).records;
    let passes = 0;
    const checkpoints: bigint[] = [];
    for (;;) {
      const res = await t.log.compact(undefined, { dedupeBufferBytes: 1024 * OFFSET_MAP_SLOT_BYTES });
      if (res === null) break;
      passes++;
      assert.ok(res.keys <= 1024);
      checkpoints.push(res.cleanedUpTo);
      assert.ok(passes < 50);
    }
    assert.ok(passes >= 4, `a 768-key map needs several passes over 4000 dirty records, took ${passes}`);
    for (let i = 1; i < checkpoints.length; i++) assert.ok(checkpoints[i] > checkpoints[i - 1]);
    assert.equal(checkpoints.at(-1), activeBase);
    const after = readLog(t.log).records;
    assert.deepEqual(latestByKey(after), latestByKey(before));
    const cleaned = after.filter((r) => r.offset < activeBase);
    assert.equal(new Set(cleaned.map((r) => r.key)).size, cleaned.length, "every key once");
  } finally {
    await t.cleanup();
  }
});
