/**
 * fast-check arbitraries for generated Kafka messages, built from `src/protocol/generated/schema.ts`: complete
 * random instances valid for one version (absent fields at their defaults, nulls where nullable, unknown tags in
 * flexible versions), plus lookup of the generated read/write functions by message name.
 */
import fc from "fast-check";
import * as codecs from "../../src/protocol/generated/index.ts";
import { API_CODECS } from "../../src/protocol/generated/index.ts";
import { type FieldSchema, type MessageSchema, messageSchemas, type VersionRange } from "../../src/protocol/generated/schema.ts";
import { concatBytes, type Reader, type UnknownTag, type Writer } from "../../src/protocol/wire.ts";

/** Generated decoder signature. */
export type ReadFn = (r: Reader, version: number) => unknown;
/** Generated encoder signature. */
export type WriteFn = (w: Writer, version: number, m: unknown) => void;

/** The generated `read<Name>`/`write<Name>` functions of a message. */
export function codecFor(name: string): { read: ReadFn; write: WriteFn } {
  const table = codecs as unknown as Record<string, unknown>;
  const read = table[`read${name}`];
  const write = table[`write${name}`];
  if (typeof read !== "function" || typeof write !== "function") throw new Error(`no codec for ${name}`);
  return { read: read as ReadFn, write: write as WriteFn };
}

/** Whether version `v` is in `r`. */
export function inRange(r: VersionRange | null | undefined, v: number): boolean {
  return r !== null && r !== undefined && r[0] <= v && v <= r[1];
}

/** The request or response schema of API `apiKey`. */
export function apiSchema(apiKey: number, kind: "request" | "response"): MessageSchema {
  const s = messageSchemas().find((m) => m.apiKey === apiKey && m.kind === kind);
  if (s === undefined) throw new Error(`no ${kind} schema for API ${apiKey}`);
  return s;
}

/** Every valid version of a message. */
export function versionsOf(m: MessageSchema): number[] {
  const out: number[] = [];
  for (let v = m.validVersions[0]; v <= m.validVersions[1]; v++) out.push(v);
  return out;
}

/** The value a decoder produces for a field absent from the wire. */
export function defaultValue(f: FieldSchema): unknown {
  if (f.default !== undefined) return f.default;
  if (f.array) return [];
  switch (f.type) {
    case "bytes":
      return new Uint8Array(0);
    case "uuid":
      return new Uint8Array(16);
    case "records":
      return null;
    case "struct":
      return defaultStruct(f.fields ?? []);
    default:
      throw new Error(`no default for ${f.name}`);
  }
}

/** A struct with every field at its default. */
export function defaultStruct(fields: readonly FieldSchema[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f.name] = defaultValue(f);
  return out;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Size that makes Writer.payload emit a chunk by reference instead of copying. */
const LARGE_PAYLOAD = 4200;

function bytesArb(maxLength: number): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 20, arbitrary: fc.uint8Array({ maxLength }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: LARGE_PAYLOAD, maxLength: LARGE_PAYLOAD + 8 }) },
  );
}

/** A records value as an encoder accepts it: one view, or several written back to back. */
function recordsArb(): fc.Arbitrary<Uint8Array | Uint8Array[]> {
  return fc.oneof(
    { weight: 4, arbitrary: bytesArb(64) },
    { weight: 1, arbitrary: fc.array(bytesArb(32), { minLength: 1, maxLength: 3 }) },
  );
}

function elemArb(f: FieldSchema, v: number, flexible: boolean): fc.Arbitrary<unknown> {
  switch (f.type) {
    case "bool":
      return fc.boolean();
    case "int8":
      return fc.integer({ min: -0x80, max: 0x7f });
    case "int16":
      return fc.integer({ min: -0x8000, max: 0x7fff });
    case "uint16":
      return fc.integer({ min: 0, max: 0xffff });
    case "int32":
      return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case "uint32":
      return fc.integer({ min: 0, max: 0xffffffff });
    case "int64":
      return fc.bigInt({ min: INT64_MIN, max: INT64_MAX });
    case "float64":
      return fc.double();
    case "string":
      return fc.string({ unit: "binary", maxLength: 8 });
    case "bytes":
      return bytesArb(16);
    case "uuid":
      return fc.uint8Array({ minLength: 16, maxLength: 16 });
    case "records":
      return recordsArb();
    case "struct":
      return structArb(f.fields ?? [], v, flexible);
  }
}

function fieldArb(f: FieldSchema, v: number, flexible: boolean): fc.Arbitrary<unknown> {
  if (!inRange(f.versions, v)) return fc.constant(defaultValue(f));
  const elem = elemArb(f, v, flexible);
  const arb = f.array ? fc.array(elem, { maxLength: 3 }) : elem;
  return inRange(f.nullableVersions, v) ? fc.option(arb, { nil: null, freq: 4 }) : arb;
}

/** Unknown tags for a struct: ascending, none equal to a tag the schema knows in version `v`. */
function unknownTagsArb(fields: readonly FieldSchema[], v: number): fc.Arbitrary<UnknownTag[]> {
  const known = new Set(fields.filter((f) => inRange(f.taggedVersions, v)).map((f) => f.tag));
  const tagArb = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 12 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x7fffffff }) },
  ).filter((t) => !known.has(t));
  return fc.uniqueArray(tagArb, { maxLength: 3 }).chain((tags) => {
    tags.sort((a, b) => a - b);
    return fc.tuple(...tags.map(() => bytesArb(8))).map((datas) => tags.map((tag, i) => ({ tag, data: datas[i] })));
  });
}

/** A complete random struct valid for version `v`. */
export function structArb(
  fields: readonly FieldSchema[],
  v: number,
  flexible: boolean,
): fc.Arbitrary<Record<string, unknown>> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) shape[f.name] = fieldArb(f, v, flexible);
  const record = fc.record(shape) as fc.Arbitrary<Record<string, unknown>>;
  if (!flexible) return record;
  return fc.tuple(record, fc.option(unknownTagsArb(fields, v), { nil: undefined, freq: 2 })).map(([r, tags]) => {
    if (tags !== undefined && tags.length > 0) r._unknownTags = tags;
    return r;
  });
}

/** A complete random instance of message `m` at version `v`. */
export function messageArb(m: MessageSchema, v: number): fc.Arbitrary<Record<string, unknown>> {
  return structArb(m.fields, v, inRange(m.flexibleVersions, v));
}


/** What a decoder returns for `x`: records given as several views become one. Returns a new object. */
export function normalize(fields: readonly FieldSchema[], x: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...x };
  for (const f of fields) {
    const val = out[f.name];
    if (f.type === "records" && Array.isArray(val)) out[f.name] = concatBytes(val as Uint8Array[]);
    else if (f.type === "struct" && val !== null && val !== undefined) {
      const sub = f.fields ?? [];
      out[f.name] = f.array
        ? (val as Record<string, unknown>[]).map((e) => normalize(sub, e))
        : normalize(sub, val as Record<string, unknown>);
    }
  }
  return out;
}

/** A request and a response of one API at one version, both random. */
export interface ApiExchange {
  apiKey: number;
  version: number;
  request: Record<string, unknown>;
  response: Record<string, unknown>;
}

/** A random {@link ApiExchange} of any API and version a broker serves. */
export function apiExchangeArb(): fc.Arbitrary<ApiExchange> {
  const targets = API_CODECS.flatMap((c) => (c === undefined ? [] : versionsOf(apiSchema(c.apiKey, "request")).map((v) => [c.apiKey, v] as const)));
  return fc.constantFrom(...targets).chain(([apiKey, version]) =>
    fc.record({
      apiKey: fc.constant(apiKey),
      version: fc.constant(version),
      request: messageArb(apiSchema(apiKey, "request"), version),
      response: messageArb(apiSchema(apiKey, "response"), version),
    })
  );
}
