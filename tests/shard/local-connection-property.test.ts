/**
 * Model-based property test of the same-thread connection pair (src/shard/local-connection.ts): random writes of
 * several chunks (empty ones too), pause/resume and close on both ends, with handlers that react to what they are
 * handed (pause, pause and resume at once, resume, close, write back) and waits of a microtask or a task between.
 * Checked: each end is handed the very views the other wrote (no copy), in order, none empty, all of them unless it
 * closed first itself (then a prefix); nothing while paused except what a close hands over before onClose; nothing
 * to an end after its own close() nor after its onClose; onClose exactly once on each end, after the close.
 */
import { test } from "node:test";
import process from "node:process";
import fc from "fast-check";
import type { Connection, ConnectionHandler } from "../../src/platform/net.ts";
import { localConnectionPair } from "../../src/shard/local-connection.ts";

type Reaction = "none" | "pause" | "pauseResume" | "resume" | "close" | "write";
type Op =
  | { k: "write"; end: number; sizes: number[] }
  | { k: "pause"; end: number }
  | { k: "resume"; end: number }
  | { k: "close"; end: number }
  | { k: "wait"; how: "micro" | "task" };

interface End {
  conn: Connection;
  /** The non-empty views written to the peer, in order (while the pair was open). */
  written: Uint8Array[];
  got: Uint8Array[];
  paused: boolean;
  /** This end called close() (first, or after the peer). */
  closedItself: boolean;
  onClose: number;
}

/** Runs `ops` on a fresh pair whose handlers react in turn as `reactions` says; the failed checks. */
async function run(ops: Op[], reactions: Reaction[][]): Promise<string[]> {
  const errors: string[] = [];
  let pairClosed = false;
  /** A close was called and its onClose calls are still to come: a paused end may be handed data. */
  let closing = false;
  const ends: End[] = [];
  const react = (i: number) => {
    const list = reactions[i];
    return list.length === 0 ? "none" : list.shift()!;
  };
  const write = (e: End, sizes: number[]) => {
    const chunks = sizes.map((n) => new Uint8Array(n));
    const r = e.conn.write(chunks);
    if (r !== true) errors.push("write returned false");
    if (!pairClosed) for (const c of chunks) if (c.length > 0) e.written.push(c);
  };
  const close = (e: End) => {
    if (!pairClosed) {
      e.closedItself = true;
      closing = true;
    }
    pairClosed = true;
    e.conn.close();
  };
  const handler = (i: number): ConnectionHandler => ({
    onData(chunk) {
      const e = ends[i];
      const peer = ends[1 - i];
      if (e.onClose > 0) errors.push(`end ${i}: data after onClose`);
      if (e.closedItself) errors.push(`end ${i}: data after its own close()`);
      if (e.paused && !closing) errors.push(`end ${i}: data while paused`);
      if (chunk.length === 0) errors.push(`end ${i}: an empty chunk`);
      if (peer.written[e.got.length] !== chunk) errors.push(`end ${i}: chunk ${e.got.length} is not the view written there`);
      e.got.push(chunk);
      const r = react(i);
      if (r === "pause" || r === "pauseResume") {
        e.paused = true;
        e.conn.pause();
      }
      if (r === "pauseResume" || r === "resume") {
        e.paused = false;
        e.conn.resume();
      }
      if (r === "close") close(e);
      if (r === "write") write(e, [3, 0, 1]);
    },
    onDrain() {
      errors.push(`end ${i}: onDrain`);
    },
    onClose() {
      const e = ends[i];
      e.onClose++;
      if (!pairClosed) errors.push(`end ${i}: onClose without a close`);
      if (ends.every((x) => x.onClose > 0)) closing = false;
    },
  });
  const conns: Connection[] = [];
  localConnectionPair({ remote: "a:1", remoteIp: "a" }, { remote: "b:2", remoteIp: "b" }, (c) => ((conns[0] = c), handler(0)), (c) => ((conns[1] = c), handler(1)));
  for (const conn of conns) ends.push({ conn, written: [], got: [], paused: false, closedItself: false, onClose: 0 });
  for (const op of ops) {
    if (op.k === "write") write(ends[op.end], op.sizes);
    else if (op.k === "pause") {
      ends[op.end].paused = true;
      ends[op.end].conn.pause();
    } else if (op.k === "resume") {
      ends[op.end].paused = false;
      ends[op.end].conn.resume();
    } else if (op.k === "close") close(ends[op.end]);
    else if (op.how === "micro") await Promise.resolve();
    else await new Promise((r) => setTimeout(r, 0));
  }
  // Both ends resumed until nothing more arrives (a handler may pause again as it is handed the next chunk).
  const settle = async () => {
    for (let round = 0; round < 100; round++) {
      const before = ends[0].got.length + ends[1].got.length;
      for (const e of ends) {
        e.paused = false;
        e.conn.resume();
      }
      await new Promise((r) => setTimeout(r, 0));
      if (round > 2 && ends[0].got.length + ends[1].got.length === before) return;
    }
  };
  await settle();
  if (!pairClosed) {
    for (let i = 0; i < 2; i++) {
      if (ends[i].got.length !== ends[1 - i].written.length) errors.push(`end ${i}: ${ends[i].got.length} of ${ends[1 - i].written.length} chunks before any close`);
    }
    close(ends[0]);
  }
  await settle();
  for (let i = 0; i < 2; i++) {
    const e = ends[i];
    if (e.onClose !== 1) errors.push(`end ${i}: onClose ${e.onClose} times`);
    // Whoever did not close first gets all the other wrote (the close hands it over); the closer a prefix.
    if (!e.closedItself && e.got.length !== ends[1 - i].written.length) errors.push(`end ${i}: ${e.got.length} of the ${ends[1 - i].written.length} chunks the peer wrote before closing`);
  }
  return errors;
}

const end = fc.integer({ min: 0, max: 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant("write" as const), end, sizes: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("pause" as const), end }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("resume" as const), end }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("close" as const), end }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("wait" as const), how: fc.constantFrom("micro" as const, "task" as const) }) },
);
const reaction = fc.constantFrom<Reaction>("none", "none", "none", "pause", "pauseResume", "resume", "close", "write");

test("random operations on a same-thread connection pair hand over the written views as the model says", { timeout: 60_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), fc.array(reaction, { maxLength: 30 }), fc.array(reaction, { maxLength: 30 }), async (ops, r0, r1) => {
      const errors = await run(ops, [r0.slice(), r1.slice()]);
      if (errors.length > 0) throw new Error(errors.slice(0, 5).join("\n"));
    }),
    { numRuns: Number(process.env.LOCAL_MODEL_RUNS ?? 200), includeErrorInReport: true },
  );
});
