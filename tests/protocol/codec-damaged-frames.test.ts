/**
 * Property test of damaged frames on the production decode paths (complementing codec-malformed.test.ts, which cuts
 * and overwrites lone bodies at fixed patterns): a random request or response of a random API and version, encoded as
 * the client and the broker encode it, gets several random edits (bytes set, bits flipped, runs inserted or deleted,
 * a cut) and is decoded as the broker reads a request frame (API key and version from the frame, header, body) and as
 * the client reads a response (header and body at the version it asked for), as a view into a larger buffer with
 * bytes before and after it, as frames cut from a socket read are. Then:
 * - decoding throws nothing but MalformedFrameError;
 * - the view decodes exactly as a copy of the same bytes does (no read outside the view);
 * - what decodes re-encodes (a sharded node's front re-encodes requests for its shards and answers for its clients)
 *   without throwing, and the re-encoding decodes to the same value.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { API_CODECS, requestHeaderVersion, responseHeaderVersion } from "../../src/protocol/generated/index.ts";
import { readRequestHeader, readResponseHeader } from "../../src/protocol/generated/headers.ts";
import { encodeRequestFrame, encodeResponseFrame } from "../../src/protocol/frame-encoding.ts";
import { concatBytes, MalformedFrameError, Reader, Writer } from "../../src/protocol/wire.ts";
import { apiSchema, messageArb, versionsOf } from "./codec-arbitraries.ts";

/** Random frames per side; each gets 1-4 edits. */
const RUNS = 4000;

type Side = "request" | "response";

type Edit =
  | { k: "set"; at: number; v: number }
  | { k: "flip"; at: number; bit: number }
  | { k: "insert"; at: number; run: Uint8Array }
  | { k: "delete"; at: number; n: number }
  | { k: "cut"; at: number };

/** Positions are fractions of the length at the time of the edit, so they land inside frames of any size. */
const at = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ k: fc.constant("set" as const), at, v: fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff) }),
  fc.record({ k: fc.constant("set" as const), at, v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant("flip" as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant("insert" as const), at, run: fc.uint8Array({ minLength: 1, maxLength: 6 }) }),
  fc.record({ k: fc.constant("delete" as const), at, n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ k: fc.constant("cut" as const), at }),
);

function applyEdit(b: Uint8Array, e: Edit): Uint8Array {
  const i = Math.floor(e.at * b.length);
  switch (e.k) {
    case "set":
    case "flip": {
      if (b.length === 0) return b;
      const out = b.slice();
      out[i] = e.k === "set" ? e.v : out[i] ^ (1 << e.bit);
      return out;
    }
    case "insert":
      return concatBytes([b.subarray(0, i), e.run, b.subarray(i)]);
    case "delete":
      return concatBytes([b.subarray(0, i), b.subarray(Math.min(b.length, i + e.n))]);
    case "cut":
      return b.slice(0, i);
  }
}

interface Sample {
  apiKey: number;
  version: number;
  value: Record<string, unknown>;
  edits: Edit[];
  /** Requests: the edits spare the API key and version (else most damaged frames are only refused). */
  spareKey: boolean;
  before: Uint8Array;
  after: Uint8Array;
}

function sampleArb(side: Side): fc.Arbitrary<Sample> {
  const targets = API_CODECS.flatMap((c) => (c === undefined ? [] : versionsOf(apiSchema(c.apiKey, side)).map((v) => [c.apiKey, v] as const)));
  const cache = new Map<string, fc.Arbitrary<Record<string, unknown>>>();
  return fc.constantFrom(...targets).chain(([apiKey, version]) => {
    const key = `${apiKey}/${version}`;
    let value = cache.get(key);
    if (value === undefined) cache.set(key, value = messageArb(apiSchema(apiKey, side), version));
    return fc.record({
      apiKey: fc.constant(apiKey),
      version: fc.constant(version),
      value,
      edits: fc.array(editArb, { minLength: 1, maxLength: 4 }),
      spareKey: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      before: fc.uint8Array({ minLength: 1, maxLength: 16 }),
      after: fc.uint8Array({ maxLength: 64 }),
    });
  });
}

/** What a decode gave: the header and body, "refused" (a key or version the broker closes on), or the error. */
type Outcome = { ok: true; header: unknown; body: unknown } | { ok: false; error: unknown };

/** Decodes a request frame's body the way the broker's connection does (src/broker/connection.ts handleFrame). */
function decodeRequest(frame: Uint8Array): Outcome | "refused" {
  const r = new Reader(frame);
  try {
    const apiKey = r.int16();
    const version = r.int16();
    const codec = API_CODECS[apiKey];
    if (codec === undefined || version < codec.minVersion || version > codec.maxVersion) return "refused";
    r.pos = 0;
    const header = readRequestHeader(r, requestHeaderVersion(apiKey, version));
    return { ok: true, header, body: codec.readRequest(r, version) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Decodes a response frame's body the way a client connection does (src/client/connection.ts onFrame). */
function decodeResponse(frame: Uint8Array, apiKey: number, version: number): Outcome {
  const r = new Reader(frame);
  try {
    const header = readResponseHeader(r, responseHeaderVersion(apiKey, version));
    return { ok: true, header, body: API_CODECS[apiKey]!.readResponse(r, version) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** `bytes` as a view into a larger buffer, between `before` and `after`. */
function embedded(bytes: Uint8Array, before: Uint8Array, after: Uint8Array): Uint8Array {
  return concatBytes([before, bytes, after]).subarray(before.length, before.length + bytes.length);
}

function assertOnlyMalformed(o: Outcome | "refused", where: string): void {
  if (o === "refused" || o.ok) return;
  const e = o.error as Error;
  if (!(e instanceof MalformedFrameError)) assert.fail(`${where}: threw ${e?.name}: ${e?.message}\n${e?.stack}`);
}

function sameOutcome(view: Outcome | "refused", copy: Outcome | "refused", where: string): void {
  if (view === "refused" || copy === "refused") return assert.equal(view, copy, `${where}: refused on one side only`);
  if (view.ok && copy.ok) return assert.deepStrictEqual(view, copy, `${where}: the view decoded differently from a copy`);
  assert.equal(view.ok, copy.ok, `${where}: the view and a copy disagree on success`);
  assert.equal((view as { error: Error }).error.message, (copy as { error: Error }).error.message, `${where}: different errors`);
}

/** Whether `x` holds a string with U+FFFD (bytes that were not UTF-8, decoded with replacement characters). */
function holdsReplacedText(x: unknown): boolean {
  if (typeof x === "string") return x.includes("\uFFFD");
  if (x === null || typeof x !== "object" || x instanceof Uint8Array) return false;
  return Object.values(x).some(holdsReplacedText);
}

/**
 * The body of the frame `encode` gives, or null when it refused a classic string longer than 32767 bytes that came
 * from bytes that were not UTF-8 (each bad byte decodes to U+FFFD, 3 bytes when encoded again): the one case in
 * which a decoded value cannot be encoded again, asserted to be that case.
 */
function reencoded(encode: () => Uint8Array[], decoded: { header: unknown; body: unknown }): Uint8Array | null {
  try {
    return body(encode());
  } catch (e) {
    if (e instanceof RangeError && e.message.startsWith("string too long") && holdsReplacedText(decoded)) return null;
    throw e;
  }
}

/** Body bytes of a frame (its size prefix left out, as the framing hands it over). */
function body(chunks: Uint8Array[]): Uint8Array {
  return concatBytes(chunks).subarray(4);
}

test("damaged request frames, decoded as the broker does, fail only as malformed and re-encode when they decode", { timeout: 60_000 }, () => {
  const client = new Writer(256);
  fc.assert(
    fc.property(sampleArb("request"), (s) => {
      const whole = body(encodeRequestFrame(client, s.apiKey, s.version, 7, "damaged", s.value));
      const kept = s.spareKey ? 4 : 0;
      const frame = concatBytes([whole.subarray(0, kept), s.edits.reduce(applyEdit, whole.slice(kept))]);
      const where = `${apiSchema(s.apiKey, "request").name} v${s.version}`;
      const view = decodeRequest(embedded(frame, s.before, s.after));
      assertOnlyMalformed(view, where);
      sameOutcome(view, decodeRequest(frame.slice()), where);
      if (view === "refused" || !view.ok) return;
      const h = view.header as { requestApiKey: number; requestApiVersion: number; correlationId: number; clientId: string | null };
      const encoded = reencoded(() => encodeRequestFrame(client, h.requestApiKey, h.requestApiVersion, h.correlationId, h.clientId, view.body), view);
      if (encoded === null) return;
      const again = decodeRequest(encoded);
      assert.ok(again !== "refused" && again.ok, `${where}: the re-encoding does not decode`);
      assert.deepStrictEqual(again.body, view.body, `${where}: re-encoded and decoded differently`);
    }),
    { numRuns: RUNS },
  );
});

test("damaged response frames, decoded as the client does, fail only as malformed and re-encode when they decode", { timeout: 60_000 }, () => {
  const broker = new Writer(256);
  broker.dropUnsupportedFields = true;
  fc.assert(
    fc.property(sampleArb("response"), (s) => {
      const frame = s.edits.reduce(applyEdit, body(encodeResponseFrame(broker, s.apiKey, s.version, 7, s.value)));
      const where = `${apiSchema(s.apiKey, "response").name} v${s.version}`;
      const view = decodeResponse(embedded(frame, s.before, s.after), s.apiKey, s.version);
      assertOnlyMalformed(view, where);
      sameOutcome(view, decodeResponse(frame.slice(), s.apiKey, s.version), where);
      if (!view.ok) return;
      const encoded = reencoded(() => encodeResponseFrame(broker, s.apiKey, s.version, 7, view.body), view);
      if (encoded === null) return;
      const again = decodeResponse(encoded, s.apiKey, s.version);
      assert.ok(again.ok, `${where}: the re-encoding does not decode`);
      assert.deepStrictEqual(again.body, view.body, `${where}: re-encoded and decoded differently`);
    }),
    { numRuns: RUNS },
  );
});
