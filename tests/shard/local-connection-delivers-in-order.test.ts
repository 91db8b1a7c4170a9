/**
 * The in-thread connection between a shard's front and its own broker: bytes arrive in write order as the very
 * views written (no copy), a paused end keeps them until it resumes, and a close delivers what was written first
 * (to a paused end too, one that pauses again at each chunk included), hands the closing end nothing more, then both
 * ends see it once.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Connection, ConnectionHandler } from "../../src/platform/net.ts";
import { localConnectionPair } from "../../src/shard/local-connection.ts";

/** A handler recording what reaches an end. */
function recorder(): { got: Uint8Array[]; closes: number; conn: Connection | null; on: (c: Connection) => ConnectionHandler } {
  const r = { got: [] as Uint8Array[], closes: 0, conn: null as Connection | null, on: (c: Connection): ConnectionHandler => {
    r.conn = c;
    return { onData: (b) => r.got.push(b), onDrain: () => {}, onClose: () => r.closes++ };
  } };
  return r;
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

test("in-thread connection: order, no copy, pause, close after delivery, identities", async () => {
  const front = recorder();
  const broker = recorder();
  localConnectionPair({ remote: "shard-1", remoteIp: "shard-1" }, { remote: "10.0.0.9:5000", remoteIp: "10.0.0.9", principal: "User:alice", listenerName: "SASL_PLAINTEXT" }, front.on, broker.on);
  assert.equal(front.conn!.remote, "shard-1");
  assert.deepEqual([broker.conn!.remote, broker.conn!.remoteIp, broker.conn!.principal, broker.conn!.listenerName], ["10.0.0.9:5000", "10.0.0.9", "User:alice", "SASL_PLAINTEXT"]);

  const a = new Uint8Array([1, 2]);
  const b = new Uint8Array([3]);
  assert.equal(front.conn!.write([a, new Uint8Array(0), b]), true);
  assert.equal(broker.got.length, 0, "delivered on a later microtask, not inside write");
  await tick();
  assert.equal(broker.got.length, 2);
  assert.ok(broker.got[0] === a && broker.got[1] === b, "the written views themselves");

  broker.conn!.pause();
  front.conn!.write([new Uint8Array([4])]);
  await tick();
  assert.equal(broker.got.length, 2, "held while paused");
  broker.conn!.resume();
  await tick();
  assert.deepEqual(broker.got.map((x) => [...x]), [[1, 2], [3], [4]]);

  broker.conn!.write([new Uint8Array([9])]);
  broker.conn!.close();
  await tick();
  assert.deepEqual(front.got.map((x) => [...x]), [[9]], "written before the close, delivered");
  assert.deepEqual([front.closes, broker.closes], [1, 1]);
  assert.equal(front.conn!.write([new Uint8Array([5])]), true);
  await tick();
  assert.equal(broker.got.length, 3, "nothing after the close");
});

test("in-thread connection: a close hands the peer all it was written, paused or pausing, and the closer nothing more", async () => {
  const front = recorder();
  const broker = recorder();
  let pauses = 0;
  let brokerClosedAt = -1;
  localConnectionPair({ remote: "shard-1", remoteIp: "shard-1" }, { remote: "10.0.0.9:5000", remoteIp: "10.0.0.9" }, front.on, (c) => {
    const h = broker.on(c);
    // A broker end that pauses as each chunk arrives (its queued requests full), as kafkaConnection does.
    return { ...h, onData: (b) => (h.onData(b), pauses++, c.pause()), onClose: () => ((brokerClosedAt = broker.got.length), h.onClose()) };
  });
  const sent = [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)];
  front.conn!.write(sent);
  broker.conn!.write([Uint8Array.of(9)]); // to the front, which closes before it is handed over
  front.conn!.close();
  await tick();
  assert.deepEqual(broker.got, sent, "every chunk written before the close, though the broker end paused at each");
  assert.equal(brokerClosedAt, 3, "then the close");
  assert.equal(pauses, 3);
  assert.deepEqual(front.got, [], "the closing end is handed nothing after its close()");
  broker.conn!.resume();
  await tick();
  assert.equal(broker.got.length, 3, "nothing after onClose");
  assert.deepEqual([front.closes, broker.closes], [1, 1]);
});
