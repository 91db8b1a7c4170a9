/**
 * Back-pressure inside a connection, driven through a fake socket so every pause and resume is observed: the
 * broker-wide request budget (`queued.max.request.bytes`, `queued.max.requests`) mutes reading when used up and
 * unmutes when work completes; the per-connection pipelining limit does the same; a frame is counted by the bytes
 * that arrived, not the size it announces; an oversized announcement closes the connection before anything is
 * allocated; idle and request-read deadlines fire on an injected clock.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Connection } from "../../src/platform/net.ts";
import { kafkaConnection, responseWriter, type ConnectionOptions } from "../../src/broker/connection.ts";
import { RequestBudget } from "../../src/broker/request-budget.ts";
import { ConnectionTimeouts, type TimedConnection } from "../../src/broker/connection-timeouts.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { apiVersionsHandler } from "../../src/broker/apis/18_api_versions.ts";
import type { ApiHandler } from "../../src/broker/api-handler.ts";
import { Writer } from "../../src/protocol/wire.ts";
import { writeRequestHeader } from "../../src/protocol/generated/headers.ts";
import { API_CODECS, requestHeaderVersion } from "../../src/protocol/generated/index.ts";

class FakeSocket implements Connection {
  readonly remote = "10.0.0.1:1234";
  readonly remoteIp = "10.0.0.1";
  paused = false;
  pauses = 0;
  resumes = 0;
  closed = false;
  written = 0;
  write(chunks: readonly Uint8Array[]): boolean {
    for (const c of chunks) this.written += c.length;
    return true;
  }
  pause(): void {
    this.paused = true;
    this.pauses++;
  }
  resume(): void {
    this.paused = false;
    this.resumes++;
  }
  close(): void {
    this.closed = true;
  }
}

function frame(apiKey: number, version: number, body: unknown): Uint8Array {
  const w = new Writer(256);
  w.reserve(4);
  writeRequestHeader(w, requestHeaderVersion(apiKey, version), { requestApiKey: apiKey, requestApiVersion: version, correlationId: 1, clientId: "t" });
  API_CODECS[apiKey]!.writeRequest(w, version, body);
  const out = w.finishContiguous().slice();
  new DataView(out.buffer).setInt32(0, out.length - 4);
  return out;
}

const metadataReq = () => frame(3, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });

function setup(budget: RequestBudget, maxInFlight = 100) {
  const parked: (() => void)[] = [];
  const table: (ApiHandler | undefined)[] = [];
  table[18] = apiVersionsHandler(() => table);
  // Metadata parks until the test releases it, like a long poll.
  table[3] = { apiKey: 3, minVersion: 0, maxVersion: 13, handle: () => new Promise((res) => parked.push(() => res({ brokers: [], topics: [], clusterId: null, controllerId: 1, throttleTimeMs: 0, errorCode: 0, clusterAuthorizedOperations: 0 }))) };
  const clock = new ManualClock();
  const opts: ConnectionOptions = {
    handlers: table,
    maxRequestBytes: 1 << 20,
    maxInFlight,
    budget,
    timeouts: new ConnectionTimeouts(clock, -1, -1),
    writer: responseWriter(),
    monotonicMs: () => clock.monotonicMs(),
    log: () => {},
  };
  const open = () => {
    const s = new FakeSocket();
    return { s, h: kafkaConnection(s, opts) };
  };
  return { open, parked };
}

function announce(size: number, bodyBytes: number): Uint8Array {
  const b = new Uint8Array(4 + bodyBytes);
  new DataView(b.buffer).setInt32(0, size);
  return b;
}

test("queued.max.request.bytes: partial frames count the bytes that arrived; over budget every connection mutes, and unmutes when bytes are released", () => {
  const budget = new RequestBudget(500, 1000);
  const { open } = setup(budget);
  const a = open();
  a.h.onData(announce(900_000, 596)); // announces 900 kB, sends 600 bytes
  assert.equal(budget.bytes, 600, "counted by arrival, not by announcement");
  assert.equal(a.s.paused, false);
  const b = open();
  b.h.onData(announce(5000, 496));
  assert.equal(budget.bytes, 1100);
  assert.equal(b.s.paused, true, "the connection that crossed the budget stops reading");
  const c = open();
  assert.equal(c.s.paused, true, "a connection opened over budget starts muted");
  a.h.onClose();
  assert.equal(budget.bytes, 500, "a closed connection gives its bytes back");
  assert.equal(b.s.paused, false, "room again: reading resumes");
  assert.equal(c.s.paused, false);
  b.h.onClose();
  c.h.onClose();
  assert.equal(budget.bytes, 0);
});

test("queued.max.requests and queued.max.requests.per.connection stop dispatch mid-chunk and mute reading until requests are answered", async () => {
  const budget = new RequestBudget(3, -1);
  const { open, parked } = setup(budget, 2);
  const a = open();
  const req = metadataReq();
  a.h.onData(new Uint8Array([...req, ...req, ...req])); // three pipelined requests in one chunk
  assert.equal(budget.requests, 2, "the third stays unread: two in flight on one connection");
  assert.equal(a.s.paused, true, "and the connection stops reading");
  const b = open();
  b.h.onData(req);
  assert.equal(budget.requests, 3);
  assert.equal(b.s.paused, true, "queued.max.requests reached broker-wide");
  const c = open();
  assert.equal(c.s.paused, true, "a new connection starts muted");
  parked.shift()!();
  await new Promise((r) => setTimeout(r, 0));
  assert.ok(a.s.written > 0, "the answered request's response was written");
  assert.equal(parked.length, 3, "room again: the unread third request was dispatched");
  for (const x of [a, b, c]) x.h.onClose();
  assert.equal(budget.requests, 0, "closing gives back requests still parked");
  assert.equal(budget.bytes, 0);
});

test("a frame over socket.request.max.bytes closes the connection on its size bytes; a small request is answered", () => {
  const budget = new RequestBudget(500, -1);
  const { open } = setup(budget);
  const big = open();
  big.h.onData(announce(2 ** 31 - 1, 0));
  assert.equal(big.s.closed, true);
  assert.equal(budget.bytes, 0);
  const ok = open();
  const req = frame(18, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" });
  for (const byte of req) ok.h.onData(new Uint8Array([byte])); // one byte at a time
  assert.ok(ok.s.written > 0, "answered after arriving byte by byte");
  assert.equal(budget.bytes, 0);
  assert.equal(budget.requests, 0);
});

test("idle and request-read deadlines fire on the injected clock; a busy connection is not idle", () => {
  const clock = new ManualClock();
  const t = new ConnectionTimeouts(clock, 1000, 300);
  const expired: string[] = [];
  const conn = (name: string, frameStartedMs: number, busy: boolean): TimedConnection => ({
    lastActiveMs: 0,
    frameStartedMs,
    busy: () => busy,
    expire: (why) => expired.push(`${name}: ${why}`),
  });
  t.track(conn("idle", -1, false));
  t.track(conn("half-sent", 0, false));
  t.track(conn("long-poll", -1, true));
  clock.advance(300);
  assert.deepEqual(expired, ["half-sent: a request frame took more than socket.request.read.timeout.ms=300 to arrive"]);
  clock.advance(700 + 75); // deadlines are swept every quarter of the shortest one
  assert.deepEqual(expired.slice(1), ["idle: idle for more than connections.max.idle.ms=1000"]);
  clock.advance(10_000);
  assert.equal(expired.length, 2, "the connection with a request in flight stays");
  t.stop();
});
