/**
 * Property test of the frames as the broker and the client encode them (src/protocol/frame-encoding.ts): random
 * responses (broker) and requests (client) of every API and version, encoded back to back into ONE Writer that
 * starts small, as the broker's listener writer and a client connection's writer are used: every frame's chunks are
 * kept (as if still queued on a socket) while the next ones are written, and some frames are abandoned half-way by an
 * encoder's exception (a handler's bad value; the broker then encodes an error response with the same writer). At the
 * end each kept frame must still equal its fresh-Writer encoding byte for byte, carry its size in front (in its first
 * chunk, which the size patch needs) and decode back to its value, payloads by reference and unknown tags included.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { FieldSchema, MessageSchema } from "../../src/protocol/generated/schema.ts";
import { API_CODECS, requestHeaderVersion, responseHeaderVersion } from "../../src/protocol/generated/index.ts";
import { readRequestHeader, readResponseHeader } from "../../src/protocol/generated/headers.ts";
import { encodeRequestFrame, encodeResponseFrame } from "../../src/protocol/frame-encoding.ts";
import { concatBytes, Reader, Writer } from "../../src/protocol/wire.ts";
import { apiSchema, inRange, messageArb, normalize, versionsOf } from "./codec-arbitraries.ts";

/** Runs per API; each run encodes one frame of every version of the API, in random order. */
const RUNS_PER_API = 4;
/** Runs of the mixed test; each run encodes frames of random APIs and versions. */
const MIXED_RUNS = 150;

type Side = "request" | "response";

interface Frame {
  apiKey: number;
  version: number;
  correlationId: number;
  value: Record<string, unknown>;
  /** The encoder fails at this property read of the value, or never (-1). */
  failAt: number;
  /** Only reads inside tagged fields' values count towards `failAt`. */
  failInTagged: boolean;
}

class Abandoned extends Error {}

/**
 * `value` behind proxies that count property reads and throw {@link Abandoned} at read `failAt`, so the generated
 * encoder stops where it is. With `inTagged`, only reads inside the values of tagged fields count: those are written
 * inside sized sections ({@link Writer.sizeBegin}), which the exception leaves open.
 */
function failingAt(value: Record<string, unknown>, fields: readonly FieldSchema[], version: number, failAt: number, inTagged: boolean): Record<string, unknown> {
  let reads = 0;
  const wrap = (x: unknown, sub: readonly FieldSchema[], tagged: boolean): unknown => {
    if (x === null || typeof x !== "object" || x instanceof Uint8Array) return x;
    return new Proxy(x as object, {
      get(target, key, receiver) {
        const got = Reflect.get(target, key, receiver);
        if (typeof key !== "string") return got;
        if ((tagged || !inTagged) && ++reads === failAt) throw new Abandoned(`read ${failAt}: ${key}`);
        if (Array.isArray(target)) return wrap(got, sub, tagged);
        const f = sub.find((g) => g.name === key);
        return wrap(got, f?.fields ?? [], tagged || inRange(f?.taggedVersions, version));
      },
    });
  };
  return wrap(value, fields, false) as Record<string, unknown>;
}

const arbCache = new Map<string, fc.Arbitrary<Record<string, unknown>>>();
function valueArb(s: MessageSchema, v: number): fc.Arbitrary<Record<string, unknown>> {
  const key = `${s.name}/${v}`;
  let a = arbCache.get(key);
  if (a === undefined) arbCache.set(key, a = messageArb(s, v));
  return a;
}

function frameArb(apiKey: number, version: number, side: Side): fc.Arbitrary<Frame> {
  return fc.record({
    apiKey: fc.constant(apiKey),
    version: fc.constant(version),
    correlationId: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    value: valueArb(apiSchema(apiKey, side), version),
    failAt: fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 60 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 }) }),
    failInTagged: fc.boolean(),
  });
}

/** The writer's starting capacity and the free room each frame asks for: small, so frames cross buffer ends. */
const writerArb = fc.record({
  capacity: fc.integer({ min: 8, max: 2048 }),
  minFree: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.constant(16 * 1024)),
});

function encode(side: Side, w: Writer, f: Frame, value: unknown, minFree: number): Uint8Array[] {
  return side === "request"
    ? encodeRequestFrame(w, f.apiKey, f.version, f.correlationId, "codecs-test", value, minFree)
    : encodeResponseFrame(w, f.apiKey, f.version, f.correlationId, value, minFree);
}

/** A fresh writer like the side's own (the broker's drops fields a version cannot carry; the client's does not). */
function sideWriter(side: Side, capacity: number): Writer {
  const w = new Writer(capacity);
  w.dropUnsupportedFields = side === "response";
  return w;
}

/** Encodes `frames` back to back into one writer, then checks every frame that was not abandoned. */
function checkBackToBack(side: Side, frames: Frame[], capacity: number, minFree: number): void {
  const w = sideWriter(side, capacity);
  const kept: { f: Frame; chunks: Uint8Array[] }[] = [];
  for (const f of frames) {
    if (f.failAt < 0) {
      kept.push({ f, chunks: encode(side, w, f, f.value, minFree) });
      continue;
    }
    try {
      kept.push({ f, chunks: encode(side, w, f, failingAt(f.value, apiSchema(f.apiKey, side).fields, f.version, f.failAt, f.failInTagged), minFree) });
    } catch (e) {
      if (!(e instanceof Abandoned)) throw e;
    }
  }
  for (const { f, chunks } of kept) {
    const schema = apiSchema(f.apiKey, side);
    const where = `${schema.name} v${f.version}`;
    assert.ok(chunks[0].length >= 4, `${where}: the first chunk holds ${chunks[0].length} bytes, not the size`);
    const bytes = concatBytes(chunks);
    const fresh = concatBytes(encode(side, sideWriter(side, 64 * 1024), f, f.value, 16 * 1024));
    assert.deepStrictEqual(bytes, fresh, `${where}: differs from its fresh-Writer encoding`);
    const r = new Reader(bytes);
    assert.equal(r.int32(), bytes.length - 4, `${where}: size prefix`);
    if (side === "request") {
      const h = readRequestHeader(r, requestHeaderVersion(f.apiKey, f.version));
      assert.deepStrictEqual([h.requestApiKey, h.requestApiVersion, h.correlationId, h.clientId], [f.apiKey, f.version, f.correlationId, "codecs-test"]);
    } else {
      assert.equal(readResponseHeader(r, responseHeaderVersion(f.apiKey, f.version)).correlationId, f.correlationId);
    }
    const codec = API_CODECS[f.apiKey]!;
    const decoded = side === "request" ? codec.readRequest(r, f.version) : codec.readResponse(r, f.version);
    assert.equal(r.remaining(), 0, `${where}: bytes left unread`);
    assert.deepStrictEqual(decoded, normalize(schema.fields, f.value), `${where}: decoded differently`);
  }
}

const apiKeys = API_CODECS.flatMap((c) => (c === undefined ? [] : [c.apiKey]));

for (const side of ["response", "request"] as const) {
  test(`every version's ${side} of each API, written back to back into one small Writer, keeps its bytes`, { timeout: 120_000 }, () => {
    for (const apiKey of apiKeys) {
      const versions = versionsOf(apiSchema(apiKey, side));
      const framesArb = fc.shuffledSubarray(versions, { minLength: versions.length }).chain((order) =>
        fc.tuple(...order.map((v) => frameArb(apiKey, v, side)))
      );
      fc.assert(
        fc.property(writerArb, framesArb, ({ capacity, minFree }, frames) => checkBackToBack(side, frames, capacity, minFree)),
        { numRuns: RUNS_PER_API, seed: 0xc0dec + apiKey },
      );
    }
  });

  test(`${side}s of random APIs and versions, written back to back into one small Writer, keep their bytes`, { timeout: 120_000 }, () => {
    const targets = apiKeys.flatMap((k) => versionsOf(apiSchema(k, side)).map((v) => [k, v] as const));
    const anyFrame = fc.constantFrom(...targets).chain(([k, v]) => frameArb(k, v, side));
    fc.assert(
      fc.property(writerArb, fc.array(anyFrame, { minLength: 1, maxLength: 10 }), ({ capacity, minFree }, frames) =>
        checkBackToBack(side, frames, capacity, minFree)
      ),
      { numRuns: MIXED_RUNS },
    );
  });
}
