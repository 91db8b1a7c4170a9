/**
 * Writer.reserve and patchInt32 (a request's size prefix, a batch's length and CRC): the reserved bytes are
 * patched where they are when patched, also after the scratch buffer grew into a new one behind a message that did
 * not start at its beginning, and after a referenced payload emitted the chunk holding them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writer } from "../../src/protocol/wire.ts";

const joined = (chunks: Uint8Array[]): DataView => {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new DataView(all.buffer);
};

test("a size prefix reserved at a message's start is patched after the scratch buffer grew past it", () => {
  const w = new Writer(64 * 1024);
  // An earlier message leaves the next one starting 30,000 bytes into the 64 KiB scratch buffer.
  w.beginMessage();
  for (let i = 0; i < 7500; i++) w.int32(-1);
  const earlier = w.finish().slice();
  w.beginMessage();
  const sizeAt = w.reserve(4);
  for (let i = 0; i < 20_000; i++) w.int32(i); // 80,000 bytes: the buffer grows during the message
  w.patchInt32(sizeAt, w.length() - 4);
  const message = joined(w.finish());
  assert.equal(message.byteLength, 80_004);
  assert.equal(message.getInt32(0), 80_000);
  for (const i of [0, 1, 7499, 19_999]) assert.equal(message.getInt32(4 + 4 * i), i);
  // The earlier message's bytes are untouched (the patch did not land at the old position in the new buffer).
  assert.ok(joined(earlier).byteLength === 30_000 && [0, 4000, 7499].every((i) => joined(earlier).getInt32(4 * i) === -1));
});

test("reserved bytes in a chunk a referenced payload emitted are patched in that chunk, also after growth", () => {
  const w = new Writer(1024);
  w.beginMessage(16);
  w.int64(7n);
  const lengthAt = w.reserve(4);
  const crcAt = w.reserve(4);
  w.payload(new Uint8Array(64 * 1024).fill(9)); // by reference: the chunk holding the reserved bytes is emitted
  for (let i = 0; i < 1000; i++) w.int32(i); // then the scratch buffer grows
  w.patchInt32(lengthAt, 0x01020304);
  w.patchInt32(crcAt, -2);
  const message = joined(w.finish());
  assert.equal(message.getBigInt64(0), 7n);
  assert.equal(message.getInt32(8), 0x01020304);
  assert.equal(message.getInt32(12), -2);
  assert.equal(message.getUint8(16), 9);
  assert.equal(message.getInt32(16 + 64 * 1024 + 4 * 999), 999);
});

test("patching past what was written is refused", () => {
  const w = new Writer(64);
  w.beginMessage(8);
  w.reserve(4);
  assert.throws(() => w.patchInt32(2, 1), RangeError);
  assert.throws(() => w.patchInt32(10, 1), RangeError);
});
