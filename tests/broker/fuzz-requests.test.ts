/**
 * Fuzzing the handlers over a real connection: for every API and version the broker serves, well-formed requests
 * with random field values (from the schema-driven arbitraries) must get an answer carrying Kafka error codes, or
 * be left waiting (long polls, joins), or close only that connection — never an internal error in a handler,
 * never a crash, and a well-behaved client keeps working throughout. Seeded, so a failure replays. The APIs and
 * versions come from the node's ApiVersions answer and its ERROR lines are read once it has stopped, so the same
 * tests run against a sharded node (RUNNEL_TEST_SHARDS), whose front and shards the frames go through.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { messageSchemas } from "../../src/protocol/generated/schema.ts";
import { messageArb } from "../protocol/codec-arbitraries.ts";

const SEED = Number(process.env.RUNNEL_FUZZ_SEED ?? 4242);
const SAMPLES = 6;
/** APIs left out: they create resources in proportion to random numbers (partition counts) and would only test the disk. */
const SKIP = new Set([19, 37]);
/** How long a request may stay unanswered before it counts as legitimately waiting (long poll, join, acks=0). */
const WAIT_MS = 300;

/** An API the node serves and its versions, as its ApiVersions (v3) answer says. */
interface Served {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

/** What the node at `port` serves, by ApiVersions. */
async function servedApis(c: RawClient): Promise<Served[]> {
  const r = await c.request(18, 3, { clientSoftwareName: "fuzz", clientSoftwareVersion: "1" });
  assert.equal(r.errorCode, 0);
  return r.apiKeys.map((k: Served) => ({ apiKey: k.apiKey, minVersion: k.minVersion, maxVersion: k.maxVersion }));
}

test(`random well-formed requests to every served API and version never cause an internal error (seed ${SEED})`, async () => {
  const lines: string[] = [];
  const b = await startTestBroker({ "group.min.session.timeout.ms": "1", "group.max.session.timeout.ms": "2000" }, undefined, lines);
  let c = await RawClient.connect(b.port);
  let answered = 0;
  let waiting = 0;
  let closed = 0;
  try {
    await b.broker.createTopic("f", 2, 1, {}, false);
    for (const h of await servedApis(c)) {
      if (SKIP.has(h.apiKey)) continue;
      const schema = messageSchemas().find((m) => m.kind === "request" && m.apiKey === h.apiKey)!;
      for (let v = h.minVersion; v <= h.maxVersion; v++) {
        const samples = fc.sample(messageArb(schema, v), { numRuns: SAMPLES, seed: SEED + h.apiKey * 100 + v });
        for (const [i, raw] of samples.entries()) {
          // Every other sample is steered at things that exist (topic "f", partitions 0-1, group "g") so the
          // handlers get past their lookups.
          const body = i % 2 === 1 ? steer(raw) : raw;
          let frame: Uint8Array;
          try {
            frame = c.frame(h.apiKey, v, body);
          } catch {
            continue; // the arbitrary made something our strict encoder refuses (e.g. an oversized string)
          }
          const outcome = await Promise.race([
            c.sendRaw(frame).then((r) => (r === null ? "closed" : "answered")),
            new Promise<string>((r) => setTimeout(() => r("waiting"), WAIT_MS)),
          ]);
          if (outcome === "answered") answered++;
          else {
            if (outcome === "closed") closed++;
            else waiting++;
            c.close();
            c = await RawClient.connect(b.port);
          }
        }
      }
    }
    if (process.env.RUNNEL_FUZZ_VERBOSE) console.log({ answered, waiting, closed });
    const healthy = await c.request(18, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" });
    assert.equal(healthy.errorCode, 0, "the broker still serves");
    assert.ok(answered > 100, `most requests were answered (${answered} answered, ${waiting} waiting, ${closed} closed)`);
  } finally {
    c.close();
    await b.stop();
  }
  noInternalErrors(lines);
});

/** Fails on any ERROR line of the node's whole log (read after it stopped: a sharded node logs from its own process). */
function noInternalErrors(lines: readonly string[]): void {
  const internal = lines.filter((l) => l.startsWith("ERROR"));
  assert.deepEqual(internal, [], `internal errors:\n${internal.slice(0, 10).join("\n")}`);
}

/** Replaces topic names, partition indexes and group ids in a random request with ones that exist. */
function steer(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(steer);
  if (x === null || typeof x !== "object" || x instanceof Uint8Array) return x;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x as Record<string, unknown>)) {
    if (typeof v === "string" && /^(name|topic|topicName|resourceName)$/.test(k)) out[k] = "f";
    else if (typeof v === "string" && /^(groupId|group)$/.test(k)) out[k] = "g";
    else if (typeof v === "number" && /^(partition|partitionIndex|index)$/.test(k)) out[k] = Math.abs(v) % 2;
    else if (Array.isArray(v) && /^(partitions|partitionIndexes)$/.test(k) && v.every((e) => typeof e === "number")) out[k] = v.map((e: number) => Math.abs(e) % 2);
    else out[k] = steer(v);
  }
  return out;
}

test(`random bytes behind valid request headers get an answer or a closed connection, never an internal error (seed ${SEED})`, async () => {
  const lines: string[] = [];
  const b = await startTestBroker({}, undefined, lines);
  let c = await RawClient.connect(b.port);
  const random = fc.sample(fc.tuple(fc.constantFrom(...(await servedApis(c))), fc.nat(20), fc.uint8Array({ minLength: 0, maxLength: 300 })), { numRuns: 300, seed: SEED });
  let closed = 0;
  try {
    for (const [h, dv, body] of random) {
      const version = h.minVersion + (dv % (h.maxVersion - h.minVersion + 1));
      const headerOnly = c.frame(18, 0, {}); // ApiVersions v0: a valid header with an empty body
      const frame = new Uint8Array(headerOnly.length + body.length);
      frame.set(headerOnly);
      frame.set(body, headerOnly.length);
      const view = new DataView(frame.buffer);
      view.setInt32(0, frame.length - 4);
      view.setInt16(4, h.apiKey);
      view.setInt16(6, version);
      const outcome = await Promise.race([
        c.sendRaw(frame).then((r) => (r === null ? "closed" : "answered")),
        new Promise<string>((r) => setTimeout(() => r("waiting"), WAIT_MS)),
      ]);
      if (outcome !== "answered") {
        if (outcome === "closed") closed++;
        c.close();
        c = await RawClient.connect(b.port);
      }
    }
    assert.ok(closed > 0, "malformed bodies closed their connections");
    const healthy = await c.request(18, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" });
    assert.equal(healthy.errorCode, 0, "the broker still serves");
  } finally {
    c.close();
    await b.stop();
  }
  noInternalErrors(lines);
});
