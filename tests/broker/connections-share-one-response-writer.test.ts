/**
 * Property test of the broker's protocol layer through its real code (src/broker/connection.ts kafkaConnection), with
 * sockets stand-ins that keep every write: 1-3 connections of one listener share its one response writer, each gets
 * random requests of random APIs and versions (cut into random chunks, connections interleaved), and handlers answer
 * with random responses, some at once and some later in a random order, so responses wait in their connection's
 * order while other responses are encoded into the same writer. Each handler must get its request decoded, and at
 * the end every response written must still equal its fresh encoding (size, header, body) and come in request order.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { kafkaConnection, type ConnectionOptions } from "../../src/broker/connection.ts";
import { RequestBudget } from "../../src/broker/request-budget.ts";
import { ConnectionTimeouts } from "../../src/broker/connection-timeouts.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import type { ApiHandler, RequestContext } from "../../src/broker/api-handler.ts";
import { API_CODECS } from "../../src/protocol/generated/index.ts";
import { encodeRequestFrame, encodeResponseFrame } from "../../src/protocol/frame-encoding.ts";
import { concatBytes, Writer } from "../../src/protocol/wire.ts";
import { type ApiExchange, apiExchangeArb, apiSchema, normalize } from "../protocol/codec-arbitraries.ts";
import { RecordingConnection } from "../support/recording-connection.ts";

const RUNS = 60;

/** A random exchange, answered at once or parked and answered later (in a random order). */
type Exchange = ApiExchange & { later: boolean };
const exchangeArb: fc.Arbitrary<Exchange> = fc.tuple(apiExchangeArb(), fc.boolean()).map(([x, later]) => ({ ...x, later }));

/** One connection's requests and the sizes of the chunks its request stream is cut into. */
const connectionArb = fc.record({
  exchanges: fc.array(exchangeArb, { minLength: 1, maxLength: 8 }),
  cuts: fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 8 }),
});

test("connections sharing one response writer answer random requests with their own responses, intact and in order", { timeout: 60_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(connectionArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: 8, max: 4096 }), fc.array(fc.nat(), { maxLength: 30 }), async (conns, capacity, order) => {
      const writer = new Writer(capacity);
      writer.dropUnsupportedFields = true;
      const parked: (() => void)[] = [];
      const logged: string[] = [];
      // Correlation ids are unique across the connections: conn * 1000 + index.
      const byCorrelation = new Map<number, Exchange>();
      conns.forEach((c, ci) => c.exchanges.forEach((x, i) => byCorrelation.set(ci * 1000 + i, x)));
      const decodedRequests = new Map<number, unknown>();
      const handlers: (ApiHandler | undefined)[] = [];
      for (const codec of API_CODECS) {
        if (codec === undefined) continue;
        handlers[codec.apiKey] = {
          apiKey: codec.apiKey,
          minVersion: codec.minVersion,
          maxVersion: codec.maxVersion,
          handle: (ctx: RequestContext, request: unknown) => {
            const x = byCorrelation.get(ctx.header.correlationId)!;
            decodedRequests.set(ctx.header.correlationId, request);
            if (!x.later) return x.response;
            return new Promise((resolve) => parked.push(() => resolve(x.response)));
          },
        };
      }
      const clock = new ManualClock();
      const opts: ConnectionOptions = {
        handlers,
        maxRequestBytes: 1 << 22,
        maxInFlight: 1000,
        budget: new RequestBudget(1000, -1),
        timeouts: new ConnectionTimeouts(clock, -1, -1),
        writer,
        monotonicMs: () => clock.monotonicMs(),
        log: (_level, msg) => logged.push(msg),
      };
      const client = new Writer(1024);
      const open = conns.map((c, ci) => {
        const socket = new RecordingConnection(`10.0.0.3:${1000 + ci}`);
        const stream = concatBytes(c.exchanges.map((x, i) => concatBytes(encodeRequestFrame(client, x.apiKey, x.version, ci * 1000 + i, "shared-writer", x.request))));
        return { socket, h: kafkaConnection(socket, opts), stream, at: 0, cut: 0 };
      });
      // Feed the connections' streams interleaved, one chunk each per round, and answer one parked request per round
      // (in a random order); a connection may dispatch queued frames later (a microtask), so each round lets it run.
      const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
      const answerOne = () => parked.splice((order.shift() ?? 0) % parked.length, 1)[0]();
      for (;;) {
        let fed = false;
        open.forEach((o, ci) => {
          if (o.at >= o.stream.length) return;
          const cuts = conns[ci].cuts;
          const n = cuts[o.cut++ % cuts.length];
          o.h.onData(o.stream.slice(o.at, o.at + n));
          o.at += n;
          fed = true;
        });
        if (parked.length > 0 && (order.length > 0 || !fed)) answerOne();
        await tick();
        if (!fed && parked.length === 0) break;
      }
      assert.deepStrictEqual(logged, []);
      const fresh = new Writer(64 * 1024);
      fresh.dropUnsupportedFields = true;
      open.forEach((o, ci) => {
        const exchanges = conns[ci].exchanges;
        assert.equal(o.socket.closed, false);
        assert.equal(o.socket.writes.length, exchanges.length, `connection ${ci}: responses written`);
        exchanges.forEach((x, i) => {
          const where = `connection ${ci} response ${i} (API ${x.apiKey} v${x.version})`;
          assert.deepStrictEqual(decodedRequests.get(ci * 1000 + i), normalize(apiSchema(x.apiKey, "request").fields, x.request), `${where}: request decoded`);
          const want = concatBytes(encodeResponseFrame(fresh, x.apiKey, x.version, ci * 1000 + i, x.response));
          assert.deepStrictEqual(concatBytes(o.socket.writes[i]), want, `${where}: differs from its fresh encoding`);
        });
        o.h.onClose();
      });
    }),
    { numRuns: RUNS },
  );
});
