/**
 * Port connections carry a large `writeFrame` frame in a message of its own: a movable body's buffer moves as it is
 * (detached at the writer), another is copied into a buffer the writer's pool gives; the reader's `giveBack` sends
 * the buffer back to the writer's pool. Bytes arrive intact and in order with the plain writes around them; a small
 * frame and a frame given back twice change nothing. Frames sharing one buffer (a socket read) over several
 * connections: every one but the last out is copied, and the buffer moves with the last.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { messagePortPair } from "../../src/platform/worker.ts";
import { openPortConnection, PORT_CONNECTION_OWN_FRAME_MIN_BYTES, type PortBuffers } from "../../src/platform/port-connection.ts";
import type { Connection, ConnectionHandler, SharedRead } from "../../src/platform/net.ts";

const prefixOf = (n: number) => {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setInt32(0, n);
  return p;
};

/** A reader's handler that keeps what arrives; `done` resolves once the `expect`ed byte count has arrived. */
function collector(): { chunks: Uint8Array[]; done: Promise<void>; expect(n: number): void; handler: ConnectionHandler } {
  const chunks: Uint8Array[] = [];
  let want = -1;
  let got = 0;
  let arrived!: () => void;
  const done = new Promise<void>((r) => (arrived = r));
  const handler: ConnectionHandler = {
    onData: (chunk) => {
      chunks.push(chunk);
      got += chunk.length;
      if (got === want) arrived();
    },
    onDrain: () => {},
    onClose: () => {},
  };
  return { chunks, done, handler, expect: (n) => {
    want = n;
    if (got === want) arrived();
  } };
}

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
  const { chunks, done, expect, handler } = collector();
  let reader!: Connection;
  openPortConnection(b, "writer", (c) => {
    reader = c;
    return handler;
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
  expect(expected.reduce((n, e) => n + e.length, 0));
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

test("frames sharing one buffer over two connections: all but the last out are copied, the buffer moves with the last", { timeout: 30_000 }, async () => {
  const big = PORT_CONNECTION_OWN_FRAME_MIN_BYTES + 1000;
  // One "socket read" holding three frames: the first and third for connection x, the second for connection y.
  const read = new Uint8Array(3 * (big + 4)).map((_, i) => (i * 13) % 251);
  const bodies = [0, 1, 2].map((k) => read.subarray(k * (big + 4) + 4, (k + 1) * (big + 4)));
  const copies = bodies.map((b) => Uint8Array.from(b));
  let enlisted = 0;
  let out = 0;
  let movedWith = -1;
  const shared: SharedRead = {
    enlist: () => void enlisted++,
    lastOut: () => ++out === 3 && enlisted === 3,
    moved: () => void (movedWith = out),
  };
  const ends = ["x", "y"].map((name) => {
    const [a, b] = messagePortPair();
    const writer: Connection = openPortConnection(a, name, () => ({ onData: () => {}, onDrain: () => {}, onClose: () => {} }));
    const into = collector();
    openPortConnection(b, "front", () => into.handler);
    return { writer, ...into };
  });
  const [x, y] = ends;
  x.writer.writeFrame!(prefixOf(big), bodies[0], false, shared);
  y.writer.writeFrame!(prefixOf(big), bodies[1], false, shared);
  x.writer.writeFrame!(prefixOf(big), bodies[2], false, shared);
  x.expect(2 * (big + 4));
  y.expect(big + 4);
  assert.equal(enlisted, 3, "every frame enlisted with the read");
  await Promise.all([x.done, y.done]);
  // x flushes first: its first frame is copied (y's is still to go), its second too (y's still in); y's goes last.
  assert.equal(out, 3);
  assert.equal(movedWith, 3, "the buffer moved with the last frame out");
  assert.equal(read.byteLength, 0, "the read's buffer moved (detached here)");
  assert.deepEqual(Buffer.concat(x.chunks), Buffer.concat([prefixOf(big), copies[0], prefixOf(big), copies[2]]), "x: both frames intact, in order");
  assert.deepEqual(Buffer.concat(y.chunks), Buffer.concat([prefixOf(big), copies[1]]), "y: its frame intact");
  assert.equal(y.chunks.at(-1)!.buffer.byteLength, 3 * (big + 4), "y got the whole read's buffer, its frame a view of it");
  for (const e of ends) e.writer.close();
});
