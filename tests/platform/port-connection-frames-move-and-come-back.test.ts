/**
 * Port connections carry a large `writeFrame` frame in a message of its own: a movable body's buffer moves as it is
 * (detached at the writer), another is copied into a buffer the writer's pool gives; the reader's `giveBack` sends
 * the buffer back to the writer's pool. Bytes arrive intact and in order with the plain writes around them; a small
 * frame and a frame given back twice change nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { messagePortPair } from "../../src/platform/worker.ts";
import { openPortConnection, PORT_CONNECTION_OWN_FRAME_MIN_BYTES, type PortBuffers } from "../../src/platform/port-connection.ts";
import type { Connection } from "../../src/platform/net.ts";

const prefixOf = (n: number) => {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setInt32(0, n);
  return p;
};

test("large frames cross in buffers of their own, moved or copied into pooled ones, and come back", { timeout: 30_000 }, async () => {
  const [a, b] = messagePortPair();
  const pool: ArrayBuffer[] = [];
  const given: ArrayBuffer[] = [];
  let taken = 0;
  const buffers: PortBuffers = {
    take: (size) => {
      const i = pool.findIndex((x) => x.byteLength >= size);
      if (i < 0) return null;
      taken++;
      return pool.splice(i, 1)[0];
    },
    give: (buf) => void given.push(buf),
  };
  let marked!: () => void;
  const marker = new Promise<void>((r) => (marked = r));
  const writer: Connection = openPortConnection(a, "reader", () => ({ onData: () => marked(), onDrain: () => {}, onClose: () => {} }), undefined, undefined, buffers);
  const chunks: Uint8Array[] = [];
  let arrived!: () => void;
  let want = 0;
  let got = 0;
  const done = new Promise<void>((r) => (arrived = r));
  let reader!: Connection;
  openPortConnection(b, "writer", (c) => {
    reader = c;
    return {
      onData: (chunk) => {
        chunks.push(chunk);
        got += chunk.length;
        if (got === want) arrived();
      },
      onDrain: () => {},
      onClose: () => {},
    };
  });

  const big = PORT_CONNECTION_OWN_FRAME_MIN_BYTES + 1000;
  const moved = new Uint8Array(big).map((_, i) => i % 251);
  const shared = new Uint8Array(2 * big + 8);
  const copied = shared.subarray(8, 8 + big).map((_, i) => (i * 7) % 253);
  shared.set(copied, 8);
  const copiedView = shared.subarray(8, 8 + big);
  const small = new Uint8Array(100).fill(9);
  pool.push(new ArrayBuffer(big + 4 + 512));
  const before = Uint8Array.from([1, 2, 3]);
  writer.write([before]);
  writer.writeFrame!(prefixOf(big), moved, true);
  writer.writeFrame!(prefixOf(big), copiedView, false);
  writer.writeFrame!(prefixOf(small.length), small, true);
  const expected = [before, prefixOf(big), Uint8Array.from(moved), prefixOf(big), Uint8Array.from(copiedView), prefixOf(small.length), small];
  want = expected.reduce((n, e) => n + e.length, 0);
  await done;
  assert.equal(moved.byteLength, 0, "the movable body's buffer moved (detached here)");
  assert.equal(copiedView.byteLength, big, "the other body stayed (it shares its buffer)");
  assert.equal(taken, 1, "the copy went into a buffer of the writer's pool");
  assert.deepEqual(Buffer.concat(chunks), Buffer.concat(expected), "every byte in order");

  // The large bodies arrived in messages of their own; the reader gives them back (twice is ignored), the small one no.
  const own = chunks.filter((c) => c.length >= big);
  assert.equal(own.length, 2);
  for (const c of own) {
    const frame = c.length === big ? c : c.subarray(4);
    reader.giveBack!(frame);
    reader.giveBack!(frame);
  }
  reader.giveBack!(chunks[chunks.length - 1]);
  // Messages keep their order: once the reader's next bytes reach the writer, everything it sent back has too.
  reader.write([Uint8Array.from([7])]);
  await marker;
  assert.equal(given.length, 2, "each buffer came back once");
  assert.deepEqual(given.map((g) => g.byteLength).sort(), [big, big + 4 + 512].sort(), "the moved buffer and the pooled one");
  assert.ok(own.every((c) => c.byteLength === 0), "given back: detached at the reader");
  writer.close();
});
