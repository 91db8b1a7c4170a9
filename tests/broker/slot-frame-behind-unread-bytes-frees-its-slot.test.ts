/**
 * A shard's connection (the broker's connection layer over a port connection from its front, with frame slots) that
 * stopped between frames with a request still unread, and then receives a large Produce frame in a frame slot, copies
 * that frame in behind the unread bytes: the slot must go back to the front at once. Before, the slot was given back
 * only through the frame cut from the copy, whose buffer is not the slot, so it stayed lent for the life of the
 * connection: after two such 3 MiB frames the connection's 8 MiB of lent slots were used up and every later frame
 * crossed threads as a transferred buffer (fresh memory in the shard's heap) instead of in a slot.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { messagePortPair } from "../../src/platform/worker.ts";
import { openPortConnection, PORT_CONNECTION_LENT_SLOT_BYTES, type PortBuffers, type PortLike } from "../../src/platform/port-connection.ts";
import { kafkaConnection, responseWriter, type ConnectionOptions } from "../../src/broker/connection.ts";
import { RequestBudget } from "../../src/broker/request-budget.ts";
import { ConnectionTimeouts } from "../../src/broker/connection-timeouts.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import type { ApiHandler } from "../../src/broker/api-handler.ts";
import { Writer } from "../../src/protocol/wire.ts";
import { writeRequestHeader } from "../../src/protocol/generated/headers.ts";
import { API_CODECS, requestHeaderVersion } from "../../src/protocol/generated/index.ts";
import type { ProduceRequest } from "../../src/protocol/generated/00_produce.ts";

const MiB = 1024 * 1024;

/** A Produce v9 frame (size prefix included) whose records are `records`. */
function produceFrame(correlationId: number, records: Uint8Array): Uint8Array {
  const w = new Writer(1024);
  w.reserve(4);
  writeRequestHeader(w, requestHeaderVersion(0, 9), { requestApiKey: 0, requestApiVersion: 9, correlationId, clientId: "front" });
  API_CODECS[0]!.writeRequest(w, 9, { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: "t", partitionData: [{ index: 0, records }] }] });
  const out = w.finishContiguous().slice();
  new DataView(out.buffer).setInt32(0, out.length - 4);
  return out;
}

const filled = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 17) & 255);

test("a slot frame copied in behind unread bytes goes back at once: later frames still get slots", { timeout: 30_000 }, async () => {
  const [a, b] = messagePortPair();
  // The front's end: frame slots, as a sharded node's front uses them (runnel.shards.frame.slots).
  const buffers: PortBuffers = { take: () => null, give: () => {}, frameSlots: true };
  // Answers come back on the port behind any slot the shard freed before them (port messages keep their order).
  let answerBytes = 0;
  let onAnswer: (() => void) | null = null;
  const front = openPortConnection(a, "shard", () => ({ onData: (c) => ((answerBytes += c.length), onAnswer?.()), onDrain: () => {}, onClose: () => {} }), undefined, undefined, buffers);

  // The shard's end: the broker's connection layer, one request in flight; Produce parks until the test answers it.
  // Its port is watched only to know when a message has been received (held while the connection is paused).
  let received = 0;
  let onReceived: (() => void) | null = null;
  const watched: PortLike = {
    postMessage: (m, t) => b.postMessage(m, t ?? []),
    get onmessage() {
      return b.onmessage;
    },
    set onmessage(h) {
      b.onmessage = h === null ? null : (e: MessageEvent) => {
        h.call(b, e);
        received++;
        onReceived?.();
      };
    },
    close: () => b.close(),
    start: () => b.start(),
  };
  const parked: { req: ProduceRequest; answer: () => void }[] = [];
  let onParked: (() => void) | null = null;
  const handlers: (ApiHandler | undefined)[] = [];
  handlers[0] = {
    apiKey: 0,
    minVersion: 3,
    maxVersion: 9,
    handle: (_ctx, req) =>
      new Promise((resolve) => {
        parked.push({ req: req as ProduceRequest, answer: () => resolve({ responses: [], throttleTimeMs: 0 }) });
        onParked?.();
      }),
  };
  const clock = new ManualClock();
  const opts: ConnectionOptions = {
    handlers,
    maxRequestBytes: 8 * MiB,
    maxInFlight: 1,
    budget: new RequestBudget(1000, 256 * MiB),
    timeouts: new ConnectionTimeouts(clock, -1, -1),
    writer: responseWriter(),
    monotonicMs: () => clock.monotonicMs(),
    log: () => {},
  };
  openPortConnection(watched, "front", (c) => kafkaConnection(c, opts));

  const until = async (cond: () => boolean, wait: (wake: () => void) => void) => {
    while (!cond()) await new Promise<void>((r) => wait(r));
  };
  const nextParked = async () => {
    await until(() => parked.length > 0, (r) => (onParked = r));
    onParked = null;
    return parked.shift()!;
  };
  const recordsOf = (p: { req: ProduceRequest }) => p.req.topicData[0].partitionData[0].records as Uint8Array;

  const big = 3 * MiB;
  assert.ok(2 * big <= PORT_CONNECTION_LENT_SLOT_BYTES && 3 * big > PORT_CONNECTION_LENT_SLOT_BYTES, "two leaked slots leave no room for a third");
  let correlationId = 0;
  for (let round = 0; round < 3; round++) {
    // One turn: two small Produce requests (one message), then a large one (a slot of its own, the next message).
    const small = [filled(100, round * 3), filled(100, round * 3 + 1)];
    const large = filled(big, round * 3 + 2);
    const frame = produceFrame(++correlationId, large);
    const seen = received;
    front.write([produceFrame(++correlationId, small[0]), produceFrame(++correlationId, small[1])]);
    front.writeFrame!(frame.subarray(0, 4), frame.subarray(4), false);
    // The first request runs; the second waits unread (one in flight) and the slot's message is held behind it.
    const first = await nextParked();
    await until(() => received >= seen + 2, (r) => (onReceived = r));
    onReceived = null;
    assert.deepEqual(recordsOf(first), small[0]);
    first.answer();
    const second = await nextParked();
    assert.deepEqual(recordsOf(second), small[1]);
    second.answer();
    const third = await nextParked();
    const got = recordsOf(third);
    assert.equal(got.length, big);
    assert.ok(got.every((v, i) => v === large[i]), `round ${round}: the large frame's records`);
    third.answer();
    // The front has the three answers, so it has any slot freed before them too.
    const answered = answerBytes;
    await until(() => answerBytes > answered, (r) => (onAnswer = r));
    onAnswer = null;
  }
  // A large frame alone: it gets a slot (the three before gave theirs back), not a transferred buffer.
  const last = filled(big, 99);
  const frame = produceFrame(++correlationId, last);
  front.writeFrame!(frame.subarray(0, 4), frame.subarray(4), false);
  const alone = await nextParked();
  const got = recordsOf(alone);
  assert.ok(got.every((v, i) => v === last[i]), "the last frame's records");
  assert.ok(got.buffer instanceof SharedArrayBuffer, "the last large frame arrived in a frame slot: no slot stayed lent");
  alone.answer();
  front.close();
});
