/**
 * Model-based property tests of port connections (src/platform/port-connection.ts), over real MessageChannels: random
 * sequences of writes of several chunks, `writeFrame` with movable bodies (own buffers or views into larger ones),
 * copied bodies, bursts and frames sharing one socket read (a fake SharedRead, sealed or not, all its frames
 * enlisted or one cut but not), around 64 KiB, the slot granule and 4 MiB, with each end's buffers none (spares),
 * a pool, or a pool and frame slots; pause/resume; the reader giving frames back at random later points, at once
 * (a slot serving again), or never; close from either side at random points. Checked throughout
 * (tests/platform/port-connection-support.ts): each end receives exactly the peer's byte stream in order (a prefix
 * once it closed itself; all of it when the peer closed, paused or not); a held chunk's bytes never change until
 * given back, nor after its connection closed (a slot or buffer never reused while held, written-off slots never
 * reused); acknowledgements, the slots lent (never one lent twice, never above PORT_CONNECTION_LENT_SLOT_BYTES,
 * none left once all is given back) and this thread's slot bytes (bounded; what is not free is what open
 * connections lent) agree with the model; `write` returns false exactly above the window and `onDrain` comes
 * exactly when it is down to half; no message handler throws and nothing escapes; after close nothing is delivered
 * and onClose comes once. One test has both ends in one thread; the other has the far end in a Worker thread (as a
 * sharded node's front and shards), echoing with its own buffers, pauses and late give-backs.
 * Each runs in a worker of its own (fixtures/port-model-runner.ts): the frame slots a thread makes stay with it.
 * PORT_MODEL_RUNS sets the runs, PORT_MODEL_STATS=1 prints what each run exercised.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { spawnWorker } from "../../src/platform/worker.ts";

const RUNNER = new URL("./fixtures/port-model-runner.ts", import.meta.url);

/** Runs `runs` random runs of `kind` in a worker; resolves fast-check's verdict. */
async function inWorker(kind: "pair" | "cross", runs: number): Promise<void> {
  const w = spawnWorker<never, { ok: boolean; message: string }>(RUNNER, { kind, runs });
  try {
    const verdict = await new Promise<{ ok: boolean; message: string }>((resolve) => {
      w.onMessage(resolve);
      w.onExit((e) => resolve({ ok: false, message: `the runner exited first: ${e?.message ?? "cleanly"}` }));
    });
    assert.ok(verdict.ok, verdict.message);
  } finally {
    await w.terminate();
  }
}

const runs = (n: number) => Number(process.env.PORT_MODEL_RUNS ?? n);

test("random operations on both ends of a port connection keep streams, frames, slots and back-pressure as the model says", { timeout: 120_000 }, async () => {
  await inWorker("pair", runs(150));
});

test("random operations on a port connection to an echoing peer in a Worker thread come back whole, with slots and back-pressure as the model says", { timeout: 120_000 }, async () => {
  await inWorker("cross", runs(60));
});
