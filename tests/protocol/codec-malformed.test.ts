/**
 * Every generated decoder, at every valid version, rejects malformed input only with MalformedFrameError:
 * truncated frames, lengths and counts replaced by negative or huge values, over-long varints, and random
 * bytes. A mutation may also decode cleanly; any other error type (RangeError, TypeError...) fails the test.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { messageSchemas } from "../../src/protocol/generated/schema.ts";
import { MalformedFrameError, Reader, Writer } from "../../src/protocol/wire.ts";
import { codecFor, messageArb, type ReadFn, versionsOf } from "./codec-arbitraries.ts";

/** Valid encodings mutated per message version. */
const SAMPLES_PER_VERSION = 2;
/** Frames longer than this get a sample of cut/mutation points instead of every byte. */
const MAX_POSITIONS = 64;

/** Byte patterns written over the frame: int32/int16/int8 lengths of -1, min, max and zero. */
const OVERWRITES: readonly Uint8Array[] = [
  new Uint8Array([0xff, 0xff, 0xff, 0xff]),
  new Uint8Array([0x80, 0x00, 0x00, 0x00]),
  new Uint8Array([0x7f, 0xff, 0xff, 0xff]),
  new Uint8Array([0xff, 0xfe]),
  new Uint8Array([0x7f, 0xff]),
  new Uint8Array([0xff]),
  new Uint8Array([0x00]),
];
/** Byte runs inserted into the frame: unsigned varints longer than 5 and 10 bytes, and a huge varint. */
const INSERTS: readonly Uint8Array[] = [
  new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
  new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
  new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]),
];

/** Decodes `bytes`; returns normally on success or MalformedFrameError, throws on any other error. */
function decodeExpectingOnlyMalformed(read: ReadFn, bytes: Uint8Array, v: number, what: string): boolean {
  try {
    read(new Reader(bytes), v);
    return true;
  } catch (e) {
    if (e instanceof MalformedFrameError) return false;
    throw new Error(`${what}: threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
}

/** Deterministic positions to cut or mutate: all of them for short frames, else an even spread. */
function positions(length: number): number[] {
  if (length <= MAX_POSITIONS) return Array.from({ length }, (_, i) => i);
  const out: number[] = [];
  for (let i = 0; i < MAX_POSITIONS; i++) out.push(Math.floor((i * length) / MAX_POSITIONS));
  return out;
}

function encodeSamples(name: string, v: number): Uint8Array[] {
  const schema = messageSchemas().find((m) => m.name === name);
  if (schema === undefined) throw new Error(name);
  const { write } = codecFor(name);
  return fc.sample(messageArb(schema, v), { numRuns: SAMPLES_PER_VERSION, seed: 0xbad + v }).map((x) => {
    const w = new Writer(64);
    write(w, v, x);
    return w.finishContiguous().slice();
  });
}

for (const schema of messageSchemas()) {
  test(`${schema.name} decoders reject malformed frames with MalformedFrameError only`, () => {
    const { read } = codecFor(schema.name);
    for (const v of versionsOf(schema)) {
      for (const frame of encodeSamples(schema.name, v)) {
        const where = `${schema.name} v${v}`;
        // A prefix follows the same decoding path as the whole frame and runs out of bytes: always malformed.
        for (const cut of positions(frame.length)) {
          const ok = decodeExpectingOnlyMalformed(read, frame.subarray(0, cut), v, `${where} cut at ${cut}`);
          assert.equal(ok, false, `${where}: truncated frame (${cut}/${frame.length} bytes) decoded`);
        }
        for (const at of positions(frame.length)) {
          for (const pattern of OVERWRITES) {
            const mutated = frame.slice();
            mutated.set(pattern.subarray(0, Math.min(pattern.length, frame.length - at)), at);
            decodeExpectingOnlyMalformed(read, mutated, v, `${where} overwrite at ${at}`);
          }
          for (const run of INSERTS) {
            const mutated = new Uint8Array(frame.length + run.length);
            mutated.set(frame.subarray(0, at), 0);
            mutated.set(run, at);
            mutated.set(frame.subarray(at), at + run.length);
            decodeExpectingOnlyMalformed(read, mutated, v, `${where} insert at ${at}`);
          }
        }
      }
    }
  });
}

test("random bytes decode or fail with MalformedFrameError for every decoder", () => {
  const targets = messageSchemas().flatMap((m) => versionsOf(m).map((v) => ({ name: m.name, v })));
  fc.assert(
    fc.property(fc.constantFrom(...targets), fc.uint8Array({ maxLength: 96 }), (t, bytes) => {
      decodeExpectingOnlyMalformed(codecFor(t.name).read, bytes, t.v, `${t.name} v${t.v} random`);
    }),
    { numRuns: 20_000, seed: 42 },
  );
});

test("over-long varints and bad tag order are malformed", () => {
  const r = new Reader(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]));
  assert.throws(() => r.uvarint(), MalformedFrameError);
  const { read } = codecFor("ResponseHeader");
  // correlation id, then tag section with tags 2 and 1 (out of order), each with an empty payload.
  const outOfOrder = new Uint8Array([0, 0, 0, 1, 2, 2, 0, 1, 0]);
  assert.throws(() => read(new Reader(outOfOrder), 1), MalformedFrameError);
  const duplicate = new Uint8Array([0, 0, 0, 1, 2, 1, 0, 1, 0]);
  assert.throws(() => read(new Reader(duplicate), 1), MalformedFrameError);
  const ascending = new Uint8Array([0, 0, 0, 1, 2, 1, 0, 2, 0]);
  assert.equal((read(new Reader(ascending), 1) as { correlationId: number }).correlationId, 1);
  // A known tagged field whose payload is longer than its value (ApiVersionsResponse ZkMigrationReady, tag 3).
  const api = codecFor("ApiVersionsResponse");
  const oversized = new Uint8Array([0, 0, 1, 0, 0, 0, 0, 1, 3, 2, 1, 0]);
  assert.throws(() => api.read(new Reader(oversized), 3), MalformedFrameError);
  const exact = new Uint8Array([0, 0, 1, 0, 0, 0, 0, 1, 3, 1, 1]);
  assert.equal((api.read(new Reader(exact), 3) as { zkMigrationReady: boolean }).zkMigrationReady, true);
});
