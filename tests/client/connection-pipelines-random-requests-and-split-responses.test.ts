/**
 * Property test of a client connection's protocol layer (src/client/connection.ts) through its real code paths, with
 * an in-memory transport in place of the socket: random requests of random APIs and versions are pipelined on one
 * connection, so its one Writer encodes them back to back while the transport keeps every frame's chunks (as a socket
 * queue does); afterwards each written frame must still equal its fresh encoding. Then the answers (random responses
 * of the same APIs and versions, encoded as the broker does) arrive as one byte stream cut at random places, some
 * chunks being views into larger buffers; each request must resolve with its own answer, decoded.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { ConnectionHandler } from "../../src/platform/net.ts";
import { RecordingConnection } from "../support/recording-connection.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { BrokerConnection } from "../../src/client/connection.ts";
import { ApiKey } from "../../src/protocol/generated/index.ts";
import { encodeRequestFrame, encodeResponseFrame } from "../../src/protocol/frame-encoding.ts";
import { concatBytes, Writer } from "../../src/protocol/wire.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { apiExchangeArb, apiSchema, normalize } from "../protocol/codec-arbitraries.ts";

const RUNS = 60;
const CLIENT_ID = "pipelined";

/** Random exchanges; an ApiVersions answer with UNSUPPORTED_VERSION is read at version 0 (KIP-511), not the subject here. */
const exchangeArb = apiExchangeArb().map((x) => {
  if (x.apiKey === ApiKey.ApiVersions && x.response.errorCode === ErrorCode.UNSUPPORTED_VERSION) x.response.errorCode = 0;
  return x;
});

/** Where the answers' byte stream is cut (fractions of its length), and which chunks are views into larger buffers. */
const cutsArb = fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), padded: fc.boolean() }), { maxLength: 12 });

test("pipelined random requests keep their bytes in one writer, and answers cut anywhere resolve each request", { timeout: 60_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(exchangeArb, { minLength: 1, maxLength: 12 }), cutsArb, async (exchanges, cuts) => {
      const socket = new RecordingConnection("127.0.0.1:9092");
      let handler: ConnectionHandler | null = null;
      const c = await BrokerConnection.open("127.0.0.1", 9092, 1, {
        clientId: CLIENT_ID,
        maxInFlight: exchanges.length,
        clock: new ManualClock(),
        apiVersions: [],
        transport: (_host, _port, onConnection) => {
          handler = onConnection(socket);
          return Promise.resolve();
        },
      });
      const answers = exchanges.map((x) => c.request(x.apiKey, x.request, { version: x.version }));
      assert.equal(socket.writes.length, exchanges.length);
      const fresh = new Writer(64 * 1024);
      const stream: Uint8Array[] = [];
      const broker = new Writer(64 * 1024);
      broker.dropUnsupportedFields = true;
      exchanges.forEach((x, i) => {
        const want = concatBytes(encodeRequestFrame(fresh, x.apiKey, x.version, i + 1, CLIENT_ID, x.request));
        assert.deepStrictEqual(concatBytes(socket.writes[i]), want, `request ${i} (API ${x.apiKey} v${x.version}) changed after it was written`);
        stream.push(concatBytes(encodeResponseFrame(broker, x.apiKey, x.version, i + 1, x.response)));
      });
      const bytes = concatBytes(stream);
      const points = [...new Set(cuts.map((p) => Math.floor(p.at * bytes.length)))].sort((a, b) => a - b);
      let from = 0;
      points.push(bytes.length);
      points.forEach((to, k) => {
        if (to <= from) return;
        const padded = cuts[k]?.padded ?? false;
        const chunk = padded ? concatBytes([new Uint8Array(3).fill(0xee), bytes.subarray(from, to), new Uint8Array(5).fill(0xee)]).subarray(3, 3 + to - from) : bytes.slice(from, to);
        handler!.onData(chunk);
        from = to;
      });
      const got = await Promise.all(answers);
      exchanges.forEach((x, i) => {
        assert.deepStrictEqual(got[i], normalize(apiSchema(x.apiKey, "response").fields, x.response), `answer ${i} (API ${x.apiKey} v${x.version})`);
      });
      assert.equal(c.inFlight(), 0);
      c.close();
    }),
    { numRuns: RUNS },
  );
});
