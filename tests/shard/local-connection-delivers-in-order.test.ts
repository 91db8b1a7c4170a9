/**
 * The in-thread connection between a shard's front and its own broker: bytes arrive in write order as the very
 * views written (no copy), a paused end keeps them until it resumes, and a close delivers what was written first,
 * then both ends see it once.
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
