/**
 * The text forms of Kafka UUIDs (topic ids) match Node's Buffer encodings: `uuidHex` (the map key every Produce and
 * Fetch with topic ids is looked up by) is Buffer's lowercase hex for every byte value, in any number of calls one
 * after another (it writes into one scratch buffer), and parses back with `uuidFromHex`; `uuidBase64` is base64url.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { uuidBase64, uuidFromBase64, uuidFromHex, uuidHex } from "../../src/protocol/uuid.ts";

test("uuidHex is Buffer's lowercase hex of every byte value, and uuidFromHex parses it back", () => {
  const keys: string[] = [];
  const ids: Uint8Array[] = [];
  for (let start = 0; start < 256; start += 16) {
    const id = new Uint8Array(16).map((_, i) => start + i);
    ids.push(id);
    keys.push(uuidHex(id));
  }
  // Strings taken earlier are not changed by later calls.
  for (let k = 0; k < ids.length; k++) {
    assert.equal(keys[k], Buffer.from(ids[k]).toString("hex"));
    assert.deepStrictEqual(uuidFromHex(keys[k]), ids[k]);
  }
  assert.equal(uuidHex(new Uint8Array(16)), "0".repeat(32));
  assert.equal(uuidHex(new Uint8Array(16).fill(255)), "f".repeat(32));
});

test("uuidHex of a view inside a larger buffer and of other lengths", () => {
  const big = new Uint8Array(40).map((_, i) => (i * 37 + 11) & 255);
  const view = big.subarray(7, 23);
  assert.equal(uuidHex(view), Buffer.from(view).toString("hex"));
  for (const n of [0, 1, 15, 17, 32]) {
    const b = big.subarray(0, n);
    assert.equal(uuidHex(b), Buffer.from(b).toString("hex"));
  }
});

test("uuidBase64 is Buffer's base64url and parses back", () => {
  for (let seed = 1; seed < 200; seed += 7) {
    const id = new Uint8Array(16).map((_, i) => (i * seed + seed * seed) & 255);
    const text = uuidBase64(id);
    assert.equal(text, Buffer.from(id).toString("base64url"));
    assert.deepStrictEqual(uuidFromBase64(text), id);
  }
});
