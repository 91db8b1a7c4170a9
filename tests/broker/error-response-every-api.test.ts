/**
 * The generic error response (src/broker/error-response.ts) for every API and version the broker serves, built
 * for random requests: it encodes with the generated codec, decodes back, carries the error code in every
 * error-code field, and answers each topic (or group, or partition) the request named, in order.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { messageSchemas } from "../../src/protocol/generated/schema.ts";
import { API_CODECS } from "../../src/protocol/generated/index.ts";
import { Reader, Writer } from "../../src/protocol/wire.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { errorResponse } from "../../src/broker/error-response.ts";
import { buildHandlers } from "../../src/broker/apis/index.ts";
import type { Broker } from "../../src/broker/broker.ts";
import { messageArb } from "../protocol/codec-arbitraries.ts";

/** Every errorCode value found anywhere in `x`. */
function errorCodes(x: unknown, out: number[] = []): number[] {
  if (Array.isArray(x)) for (const e of x) errorCodes(e, out);
  else if (x !== null && typeof x === "object" && !(x instanceof Uint8Array)) {
    for (const [k, v] of Object.entries(x)) {
      if (k === "errorCode") out.push(v as number);
      else errorCodes(v, out);
    }
  }
  return out;
}

test("error responses for every served API and version encode, decode and carry the code for each requested entity", () => {
  const handlers = buildHandlers({} as Broker).filter((h) => h !== undefined);
  let checked = 0;
  for (const h of handlers) {
    const reqSchema = messageSchemas().find((m) => m.kind === "request" && m.apiKey === h.apiKey)!;
    const codec = API_CODECS[h.apiKey]!;
    for (let v = h.minVersion; v <= h.maxVersion; v++) {
      for (const req of fc.sample(messageArb(reqSchema, v), { numRuns: 5, seed: h.apiKey * 100 + v })) {
        const res = errorResponse(h.apiKey, v, req, ErrorCode.UNKNOWN_SERVER_ERROR);
        const w = new Writer(1024);
        codec.writeResponse(w, v, res);
        const back = codec.readResponse(new Reader(w.finishContiguous()), v);
        const codes = errorCodes(res);
        assert.ok(codes.every((c) => c === ErrorCode.UNKNOWN_SERVER_ERROR), `${codec.name} v${v}: ${codes}`);
        const decoded = errorCodes(back).filter((c) => c === ErrorCode.UNKNOWN_SERVER_ERROR);
        assert.equal(decoded.length, codes.length, `${codec.name} v${v}: every error code survives the wire`);
        // The first struct array of the request is answered element for element when the response mirrors it.
        const reqArray = reqSchema.fields.find((f) => f.array && f.type === "struct" && v >= f.versions[0] && v <= f.versions[1]);
        const items = reqArray ? (req as Record<string, unknown[] | null>)[reqArray.name] : null;
        const resArrays = Object.values(back as Record<string, unknown>).filter((x) => Array.isArray(x) && x.length > 0);
        if (items && items.length > 0 && resArrays.length > 0) assert.ok(resArrays.some((a) => (a as unknown[]).length === items.length), `${codec.name} v${v} mirrors ${reqArray!.name}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 500, `checked ${checked}`);
});
