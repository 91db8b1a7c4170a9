/**
 * The client connection against a raw, scripted TCP peer: ApiVersions negotiation picks the highest version both
 * sides support and falls back when the broker rejects the client's ApiVersions version; requests are pipelined
 * up to max.in.flight and answered in order even when frames arrive split into single bytes; a request with no
 * answer times out and closes the connection; a refused connection fails clearly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { listen, type Connection } from "../../src/platform/net.ts";
import { Reader, Writer } from "../../src/protocol/wire.ts";
import { API_CODECS, ApiKey, requestHeaderVersion, responseHeaderVersion } from "../../src/protocol/generated/index.ts";
import { readRequestHeader, writeResponseHeader } from "../../src/protocol/generated/headers.ts";
import { BrokerConnection } from "../../src/client/connection.ts";
import { ConnectionError, RequestTimeoutError } from "../../src/client/client-errors.ts";
import type { MetadataResponse } from "../../src/protocol/generated/03_metadata.ts";

interface Seen {
  apiKey: number;
  version: number;
  correlationId: number;
  clientId: string | null;
}

/** A scripted peer: `answer` returns a response body (or undefined to stay silent) per request. */
async function peer(answer: (req: Seen, conn: Connection) => unknown, opts: { byteByByte?: boolean; apiVersionsMax?: number; metadataMax?: number } = {}) {
  const seen: Seen[] = [];
  let outstanding = 0;
  let maxOutstanding = 0;
  const server = await listen("127.0.0.1", 0, (conn) => {
    let buf = new Uint8Array(0);
    return {
      onData(chunk: Uint8Array) {
        const next = new Uint8Array(buf.length + chunk.length);
        next.set(buf);
        next.set(chunk, buf.length);
        buf = next;
        for (;;) {
          if (buf.length < 4) return;
          const size = new DataView(buf.buffer, buf.byteOffset).getInt32(0);
          if (buf.length < 4 + size) return;
          const frame = buf.subarray(4, 4 + size);
          buf = buf.slice(4 + size);
          const r = new Reader(frame);
          const apiKey = r.int16();
          const version = r.int16();
          r.pos = 0;
          const header = readRequestHeader(r, requestHeaderVersion(apiKey, apiKey === ApiKey.ApiVersions && version > 4 ? 0 : version));
          const req: Seen = { apiKey, version, correlationId: header.correlationId, clientId: header.clientId };
          seen.push(req);
          let body: unknown;
          let respondVersion = version;
          if (apiKey === ApiKey.ApiVersions) {
            const max = opts.apiVersionsMax ?? 4;
            const keys = [
              { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: max },
              { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: opts.metadataMax ?? 12 },
              { apiKey: ApiKey.Produce, minVersion: 0, maxVersion: 2 },
            ];
            if (version > max) {
              body = { errorCode: 35, apiKeys: keys };
              respondVersion = 0;
            } else body = { errorCode: 0, apiKeys: keys, throttleTimeMs: 0 };
          } else {
            outstanding++;
            maxOutstanding = Math.max(maxOutstanding, outstanding);
            body = answer(req, conn);
            if (body === undefined) continue;
          }
          const w = new Writer(1024);
          const at = w.reserve(4);
          writeResponseHeader(w, responseHeaderVersion(apiKey, version), { correlationId: header.correlationId });
          API_CODECS[apiKey]!.writeResponse(w, respondVersion, body);
          w.patchInt32(at, w.length() - 4);
          const bytes = w.finishContiguous().slice();
          const send = () => {
            if (apiKey !== ApiKey.ApiVersions) outstanding--;
            if (opts.byteByByte) for (let i = 0; i < bytes.length; i++) conn.write([bytes.subarray(i, i + 1)]);
            else conn.write([bytes]);
          };
          setTimeout(send, 5);
        }
      },
      onDrain() {},
      onClose() {},
    };
  });
  return { server, seen, maxOutstanding: () => maxOutstanding };
}

const metadataBody: MetadataResponse = { throttleTimeMs: 0, brokers: [{ nodeId: 1, host: "h", port: 1, rack: null }], clusterId: "c", controllerId: 1, topics: [] };

test("ApiVersions negotiation picks the highest common version and sends client.id", async () => {
  const p = await peer(() => metadataBody, { metadataMax: 7 });
  const c = await BrokerConnection.open("127.0.0.1", p.server.port, 1, { clientId: "my-client" });
  assert.equal(p.seen[0].apiKey, ApiKey.ApiVersions);
  assert.equal(p.seen[0].version, 4, "the client's highest ApiVersions version first");
  assert.equal(c.version(ApiKey.Metadata), 7, "min(client max, broker max)");
  assert.equal(c.version(ApiKey.Fetch), -1, "an API the broker does not list is unusable");
  const res = await c.request<MetadataResponse>(ApiKey.Metadata, { topics: null, allowAutoTopicCreation: false });
  assert.equal(res.clusterId, "c");
  assert.equal(p.seen[1].version, 7);
  assert.equal(p.seen[1].clientId, "my-client");
  await assert.rejects(c.request(ApiKey.Fetch, {}), /supports no version of Fetch/);
  c.close();
  await p.server.close();
});

test("a broker that rejects the ApiVersions version gets the version it names", async () => {
  const p = await peer(() => metadataBody, { apiVersionsMax: 2 });
  const c = await BrokerConnection.open("127.0.0.1", p.server.port, 1);
  assert.deepEqual(p.seen.map((s) => s.version), [4, 2]);
  assert.equal(c.version(ApiKey.Metadata), 12);
  c.close();
  await p.server.close();
});

test("requests are pipelined up to max.in.flight and matched to responses split into single bytes", async () => {
  const p = await peer((req) => ({ ...metadataBody, clusterId: `answer-${req.correlationId}` }), { byteByByte: true });
  const c = await BrokerConnection.open("127.0.0.1", p.server.port, 1, { maxInFlight: 3 });
  const results = await Promise.all(Array.from({ length: 12 }, () => c.request<MetadataResponse>(ApiKey.Metadata, { topics: [] })));
  const ids = p.seen.filter((s) => s.apiKey === ApiKey.Metadata).map((s) => s.correlationId);
  assert.deepEqual(results.map((r) => r.clusterId), ids.map((id) => `answer-${id}`));
  assert.ok(p.maxOutstanding() <= 3, `max outstanding ${p.maxOutstanding()}`);
  assert.ok(p.maxOutstanding() >= 2, "requests were pipelined");
  c.close();
  await p.server.close();
});

test("an unanswered request times out and closes the connection; later requests fail fast", async () => {
  const p = await peer(() => undefined);
  const c = await BrokerConnection.open("127.0.0.1", p.server.port, 1, { requestTimeoutMs: 200 });
  const pending = c.request(ApiKey.Metadata, { topics: [] });
  const other = c.request(ApiKey.Metadata, { topics: [] });
  await assert.rejects(pending, (e: unknown) => e instanceof RequestTimeoutError);
  await assert.rejects(other, (e: unknown) => e instanceof ConnectionError);
  assert.equal(c.closed, true);
  await assert.rejects(c.request(ApiKey.Metadata, { topics: [] }), (e: unknown) => e instanceof ConnectionError);
  await p.server.close();
});

test("a refused connection fails with a ConnectionError naming the address", async () => {
  const p = await peer(() => metadataBody);
  const port = p.server.port;
  await p.server.close();
  await assert.rejects(BrokerConnection.open("127.0.0.1", port, 1), (e: unknown) => e instanceof ConnectionError && e.message.includes(`127.0.0.1:${port}`));
});
