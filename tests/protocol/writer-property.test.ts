/**
 * Property test of the Writer's bookkeeping (wire.ts): random messages of integers, copied bytes, referenced
 * payloads, reserved-then-patched int32s and nested sized sections, written one after another into one Writer whose
 * scratch buffer starts small and grows, equal a plain reference encoding byte for byte; and every earlier message's
 * chunks still hold their bytes after the later messages were written (beginMessage's promise); finishContiguous gives
 * the message's bytes, as its chunks do.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { Writer, WRITER_ZERO_COPY_THRESHOLD } from "../../src/protocol/wire.ts";

type Item =
  | { k: "int32"; v: number }
  | { k: "raw"; n: number; fill: number }
  | { k: "payload"; n: number; fill: number }
  | { k: "reserved"; v: number }
  | { k: "section"; items: Item[] };

const leaf: fc.Arbitrary<Item> = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v): Item => ({ k: "int32", v })),
  fc.record({ n: fc.integer({ min: 1, max: 700 }), fill: fc.integer({ min: 0, max: 255 }) }).map(({ n, fill }): Item => ({ k: "raw", n, fill })),
  fc.record({ n: fc.integer({ min: WRITER_ZERO_COPY_THRESHOLD, max: WRITER_ZERO_COPY_THRESHOLD + 300 }), fill: fc.integer({ min: 0, max: 255 }) }).map(({ n, fill }): Item => ({ k: "payload", n, fill })),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v): Item => ({ k: "reserved", v })),
);
const { items } = fc.letrec<{ item: Item; items: Item[] }>((tie) => ({
  item: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, fc.array(tie("item"), { maxLength: 6 }).map((items): Item => ({ k: "section", items }))),
  items: fc.array(tie("item"), { minLength: 1, maxLength: 12 }),
}));

const uvarint = (v: number): number[] => {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
};
const int32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

/** The reference: what the items encode to, in plain arrays. */
function expected(list: Item[]): number[] {
  const out: number[] = [];
  for (const it of list) {
    if (it.k === "int32" || it.k === "reserved") out.push(...int32(it.v));
    else if (it.k === "raw" || it.k === "payload") for (let i = 0; i < it.n; i++) out.push(it.fill);
    else {
      const inner = expected(it.items);
      out.push(...uvarint(inner.length), ...inner);
    }
  }
  return out;
}

/** Writes the items; reserved int32s are patched at the end of the section (or message) they are in. */
function write(w: Writer, list: Item[]): void {
  const patches: [number, number][] = [];
  for (const it of list) {
    if (it.k === "int32") w.int32(it.v);
    else if (it.k === "raw") w.raw(new Uint8Array(it.n).fill(it.fill));
    else if (it.k === "payload") w.payload(new Uint8Array(it.n).fill(it.fill));
    else if (it.k === "reserved") {
      patches.push([w.reserve(4), it.v]);
      w.int32(0x5a5a5a5a); // written over the next bytes only if reserve handed out the wrong ones
      w.pos -= 4;
    } else {
      w.sizeBegin();
      write(w, it.items);
      w.sizeEnd();
    }
  }
  for (const [at, v] of patches) w.patchInt32(at, v);
}

const flat = (chunks: Uint8Array[]): Buffer => Buffer.concat(chunks);

test("random messages written back to back into one growing Writer equal the reference encoding", { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(fc.integer({ min: 8, max: 4096 }), fc.integer({ min: 0, max: 512 }), fc.array(items, { minLength: 1, maxLength: 4 }), (capacity, minFree, messages) => {
      const w = new Writer(capacity);
      const done: { chunks: Uint8Array[]; want: number[] }[] = [];
      for (const list of messages) {
        w.beginMessage(minFree);
        write(w, list);
        const want = expected(list);
        assert.equal(w.length(), want.length);
        const contiguous = Buffer.from(w.finishContiguous());
        const chunks = w.finish().slice();
        assert.ok(contiguous.equals(flat(chunks)), "finishContiguous differs from the message's chunks");
        done.push({ chunks, want });
      }
      for (const d of done) assert.ok(flat(d.chunks).equals(Buffer.from(d.want)), "a message's bytes differ from the reference");
    }),
    { numRuns: 200 },
  );
});

test("a sized section ending within 5 bytes of the scratch buffer's end gets its size in front of it", () => {
  for (const fill of [1, 2, 3, 4, 5, 6]) {
    const w = new Writer(16);
    w.beginMessage(0);
    w.raw(new Uint8Array(16 - fill).fill(7));
    w.sizeBegin();
    if (fill > 1) w.int8(9);
    assert.equal(w.sizeEnd(), fill > 1 ? 1 : 0);
    assert.ok(flat(w.finish()).equals(Buffer.from([...new Array(16 - fill).fill(7), ...(fill > 1 ? [1, 9] : [0])])), `${fill} bytes left`);
  }
});
