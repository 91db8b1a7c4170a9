/**
 * A paused reader whose peer closes is handed what the peer wrote before its close (held while paused: plain
 * writes and a frame in a message of its own), in order, then onClose, as a same-thread pair does
 * (src/shard/local-connection.ts). Before, the close dropped what the paused reader held (found by
 * port-connection-property.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { messagePortPair } from "../../src/platform/worker.ts";
import { openPortConnection, PORT_CONNECTION_OWN_FRAME_MIN_BYTES } from "../../src/platform/port-connection.ts";
import type { Connection } from "../../src/platform/net.ts";

test("a paused reader gets what its peer wrote before closing, then the close", { timeout: 10_000 }, async () => {
  const [a, b] = messagePortPair();
  const writer: Connection = openPortConnection(a, "reader", () => ({ onData: () => {}, onDrain: () => {}, onClose: () => {} }));
  const got: Uint8Array[] = [];
  const events: string[] = [];
  let closed!: () => void;
  const sawClose = new Promise<void>((r) => (closed = r));
  let arrived!: () => void;
  const first = new Promise<void>((r) => (arrived = r));
  const reader: Connection = openPortConnection(b, "writer", () => ({
    onData: (c) => {
      got.push(c.slice());
      events.push("data");
      arrived();
    },
    onDrain: () => {},
    onClose: () => {
      events.push("close");
      closed();
    },
  }));
  writer.write([Uint8Array.of(1, 2, 3)]);
  await first;
  reader.pause();
  const body = new Uint8Array(PORT_CONNECTION_OWN_FRAME_MIN_BYTES).fill(7);
  const prefix = Uint8Array.of(0, 1, 0, 0);
  writer.write([Uint8Array.of(4, 5)]);
  writer.writeFrame!(prefix, body.slice(), true);
  writer.write([Uint8Array.of(6)]);
  writer.close();
  await sawClose;
  assert.deepEqual(Buffer.concat(got), Buffer.concat([Uint8Array.of(1, 2, 3, 4, 5), prefix, body, Uint8Array.of(6)]), "every byte written before the close, in order");
  assert.equal(events.at(-1), "close", "the close comes after the data");
  assert.equal(events.filter((e) => e === "close").length, 1);
});
