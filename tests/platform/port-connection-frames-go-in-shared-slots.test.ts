/**
 * With frame slots (`PortBuffers.frameSlots`, what a sharded node's front uses: runnel.shards.frame.slots), a large
 * `writeFrame` frame is copied into a SharedArrayBuffer slot shared with the reader once and then named by number:
 * the reader gets a view of the slot, its `giveBack` frees the slot, and the next frames reuse it, so no buffer moves
 * or is posted per frame (a crossing buffer counts as new memory in the receiving heap: bench/transfer-gc.ts). The
 * writer's own buffers stay whole (nothing detached); bytes arrive intact and in order with the plain writes around
 * them; a frame above the slots' limit still moves as before; closing with a slot lent writes it off; the slots lent
 * to one reader, counted whole, stay within PORT_CONNECTION_LENT_SLOT_BYTES (a free slot larger than the room left is
 * not taken for a smaller frame).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { messagePortPair } from "../../src/platform/worker.ts";
import { openPortConnection, PORT_CONNECTION_LENT_SLOT_BYTES, PORT_CONNECTION_OWN_FRAME_MIN_BYTES, PORT_CONNECTION_SLOT_MAX_FRAME_BYTES, type PortBuffers } from "../../src/platform/port-connection.ts";
import type { Connection, ConnectionHandler } from "../../src/platform/net.ts";

const prefixOf = (n: number) => {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setInt32(0, n);
  return p;
};

/**
 * A writer with frame slots and its reader over one port pair; `next` takes the reader's next chunk, `ping` a
 * round trip (port messages keep their order, so a free posted before a ping has reached the writer with it).
 */
function openSlotPair() {
  const [a, b] = messagePortPair();
  const buffers: PortBuffers = { take: () => null, give: () => {}, frameSlots: true };
  let pinged: (() => void) | null = null;
  const writer: Connection = openPortConnection(a, "reader", () => ({ onData: () => pinged?.(), onDrain: () => {}, onClose: () => {} }), undefined, undefined, buffers);
  const chunks: Uint8Array[] = [];
  let arrived: (() => void) | null = null;
  const handler: ConnectionHandler = {
    onData: (chunk) => {
      chunks.push(chunk);
      arrived?.();
    },
    onDrain: () => {},
    onClose: () => {},
  };
  let reader!: Connection;
  openPortConnection(b, "writer", (c) => {
    reader = c;
    return handler;
  });
  const next = () => new Promise<Uint8Array>((resolve) => {
    const take = () => {
      if (chunks.length === 0) return false;
      arrived = null;
      resolve(chunks.shift()!);
      return true;
    };
    if (!take()) arrived = () => void take();
  });

  const ping = () => new Promise<void>((resolve) => {
    pinged = () => {
      pinged = null;
      resolve();
    };
    reader.write([Uint8Array.from([0])]);
  });
  return { writer, reader, next, ping };
}

test("large frames go in shared slots named by number, freed by giveBack and reused; bytes intact and in order", { timeout: 30_000 }, async () => {
  const { writer, reader, next, ping } = openSlotPair();

  const size = PORT_CONNECTION_OWN_FRAME_MIN_BYTES + 1000;
  const slotsSeen = new Set<ArrayBufferLike>();
  for (let round = 0; round < 5; round++) {
    const body = new Uint8Array(size).map((_, i) => (i * (round + 3)) % 251);
    const before = Uint8Array.from([round, 1, 2]);
    writer.write([before]);
    writer.writeFrame!(prefixOf(size), body, true);
    writer.write([Uint8Array.from([round, 9])]);
    assert.deepEqual(await next(), before, "the plain write before the frame comes first");
    const frame = await next();
    assert.ok(frame.buffer instanceof SharedArrayBuffer, "the frame arrives in a shared slot");
    assert.equal(frame.length, 4 + size);
    assert.deepEqual(frame.subarray(0, 4), prefixOf(size));
    assert.deepEqual(frame.subarray(4), body, `round ${round}: the frame's bytes`);
    assert.equal(body.buffer.byteLength, size, "the writer's buffer was not moved (detached)");
    assert.deepEqual(await next(), Uint8Array.from([round, 9]), "the plain write after the frame comes after it");
    slotsSeen.add(frame.buffer);
    reader.giveBack!(frame.subarray(4));
    reader.giveBack!(frame.subarray(4)); // a second give-back of the same frame changes nothing
    await ping();
  }
  // Each frame was given back (and the writer had the free) before the next was written: one slot served them all.
  assert.equal(slotsSeen.size, 1, `frames reused their slot (${slotsSeen.size} slots for 5 frames)`);

  // Two frames in flight at once take two slots; both come back.
  const x = new Uint8Array(size).fill(7);
  const y = new Uint8Array(size).fill(8);
  writer.writeFrame!(prefixOf(size), x, true);
  writer.writeFrame!(prefixOf(size), y, false);
  const fx = await next();
  const fy = await next();
  assert.notEqual(fx.buffer, fy.buffer, "two frames in flight are in two slots");
  assert.ok(fx.subarray(4).every((v) => v === 7) && fy.subarray(4).every((v) => v === 8));
  reader.giveBack!(fy.subarray(4));
  reader.giveBack!(fx.subarray(4));

  // A frame above the slots' limit moves in its own buffer, as without slots.
  const huge = new Uint8Array(PORT_CONNECTION_SLOT_MAX_FRAME_BYTES + 1).fill(5);
  writer.writeFrame!(prefixOf(PORT_CONNECTION_SLOT_MAX_FRAME_BYTES + 1), huge, true);
  assert.deepEqual(await next(), prefixOf(PORT_CONNECTION_SLOT_MAX_FRAME_BYTES + 1), "its size prefix goes first, on its own");
  const fh = await next();
  assert.ok(!(fh.buffer instanceof SharedArrayBuffer), "a frame above the limit is not in a slot");
  assert.equal(fh.length, PORT_CONNECTION_SLOT_MAX_FRAME_BYTES + 1);
  assert.ok(fh.every((v) => v === 5));
  assert.equal(huge.buffer.byteLength, 0, "and moved as a movable frame does without slots");

  // Closing with a slot lent: the reader still reads it; a give-back after the close is ignored.
  const last = new Uint8Array(size).fill(3);
  writer.writeFrame!(prefixOf(size), last, true);
  const fl = await next();
  writer.close();
  assert.ok(fl.subarray(4).every((v) => v === 3));
  reader.giveBack!(fl.subarray(4));
  reader.close();
});

test("the slots lent to one reader never hold more than PORT_CONNECTION_LENT_SLOT_BYTES, counting whole slots", { timeout: 30_000 }, async () => {
  const { writer, reader, next, ping } = openSlotPair();
  const MiB = 1024 * 1024;
  // A frame of `n` bytes with its prefix (a slot of exactly n when n is a multiple of 64 KiB).
  const send = async (n: number, fill: number) => {
    writer.writeFrame!(prefixOf(n - 4), new Uint8Array(n - 4).fill(fill), false);
    const f = await next();
    assert.equal(f.length, n);
    assert.ok(f.subarray(4).every((v) => v === fill), "the frame's bytes");
    return f;
  };
  assert.equal(PORT_CONNECTION_LENT_SLOT_BYTES, 8 * MiB, "the test's sizes assume an 8 MiB lent bound");
  assert.equal(PORT_CONNECTION_SLOT_MAX_FRAME_BYTES, 4 * MiB, "and 4 MiB slots at most");

  // Free slots of this thread: two of 4 MiB and one of 1 MiB (sent and given back).
  reader.giveBack!((await send(1 * MiB, 3)).subarray(4));
  await ping();
  const made = [await send(4 * MiB, 1), await send(4 * MiB, 2)];
  for (const f of made) reader.giveBack!(f.subarray(4));
  await ping();

  // Lent: a 4 MiB frame and a 1 MiB one take those slots (5 MiB lent); a 3 MiB frame fits the 3 MiB left, but the
  // free 4 MiB slot does not: it must take a slot that fits what is left, or none.
  const held = [await send(4 * MiB, 4), await send(1 * MiB, 5), await send(3 * MiB, 6)];
  const lentSlots = new Set(held.filter((f) => f.buffer instanceof SharedArrayBuffer).map((f) => f.buffer));
  let lentBytes = 0;
  for (const s of lentSlots) lentBytes += s.byteLength;
  assert.ok(lentBytes <= PORT_CONNECTION_LENT_SLOT_BYTES, `slots lent to the reader: ${lentBytes} bytes, bound ${PORT_CONNECTION_LENT_SLOT_BYTES}`);
  assert.equal(held[2].buffer instanceof SharedArrayBuffer, true, "the 3 MiB frame still goes in a slot (one that fits)");

  // With 8 MiB lent, the next frame goes in a buffer of its own; once a frame is given back, slots serve again.
  const over = await send(64 * 1024, 7);
  assert.ok(!(over.buffer instanceof SharedArrayBuffer), "a frame beyond the lent bound is not in a slot");
  reader.giveBack!(over);
  reader.giveBack!(held[1].subarray(4));
  await ping();
  const again = await send(1 * MiB, 8);
  assert.ok(again.buffer instanceof SharedArrayBuffer, "a given-back slot serves again");
  writer.close();
  reader.close();
});
