/**
 * The broker counts the error codes of every response for `/metrics` (Kafka's ErrorsPerSec). Produce and Fetch
 * responses are counted along their schema's `errorCode` fields only; for random decoded responses of every version
 * of both (and of a few other APIs), the counts equal those of the full walk over every nested object.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { messageSchemas } from "../../src/protocol/generated/schema.ts";
import { ApiKey } from "../../src/protocol/generated/index.ts";
import { Reader, Writer } from "../../src/protocol/wire.ts";
import { BrokerMetrics, countErrorFields, countResponseErrors } from "../../src/http/metrics/broker-metrics.ts";
import { codecFor, messageArb, versionsOf } from "../protocol/codec-arbitraries.ts";

const RUNS_PER_VERSION = 30;

function counts(m: BrokerMetrics, apiKey: number): [number, number][] {
  return [...(m.errors[apiKey] ?? new Map<number, number>()).entries()].sort((a, b) => a[0] - b[0]);
}

const apis: [string, number][] = [
  ["ProduceResponse", ApiKey.Produce],
  ["FetchResponse", ApiKey.Fetch],
  ["MetadataResponse", ApiKey.Metadata],
  ["OffsetCommitResponse", ApiKey.OffsetCommit],
];

for (const [name, apiKey] of apis) {
  test(`${name}: error counts equal the full walk's in every version`, () => {
    const schema = messageSchemas().find((s) => s.name === name);
    assert.ok(schema !== undefined, name);
    const { read, write } = codecFor(name);
    let nonEmpty = 0;
    for (const v of versionsOf(schema)) {
      fc.assert(
        fc.property(messageArb(schema, v), (x) => {
          // Count over the decoded form: what a handler's response object looks like.
          const w = new Writer(64);
          write(w, v, x);
          const decoded = read(new Reader(w.finishContiguous().slice()), v);
          const fast = new BrokerMetrics();
          const full = new BrokerMetrics();
          countResponseErrors(fast, apiKey, decoded);
          countErrorFields(full, apiKey, decoded);
          assert.deepStrictEqual(counts(fast, apiKey), counts(full, apiKey), `${name} v${v}`);
          if (counts(full, apiKey).length > 0) nonEmpty++;
        }),
        { numRuns: RUNS_PER_VERSION },
      );
    }
    // The property compared something: responses with error codes were generated.
    assert.ok(nonEmpty > 0, `${name}: no generated response had an error code`);
  });
}
