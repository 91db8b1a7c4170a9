/**
 * A thread that stops while publishing a shared text (src/platform/shared-text.ts) leaves its slot half-written for
 * good: a reader gives up after READ_SPINS_MAX reads and answers "writing" instead of spinning for ever (what a JWKS
 * source does then: tests/security/jwks-shared-between-threads-of-a-node). The read runs in a worker, so that
 * without the limit this test fails instead of hanging.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnWorker } from "../../src/platform/worker.ts";
import { SharedTexts } from "../../src/platform/shared-text.ts";

const READER = new URL("./fixtures/shared-text-reader-worker.ts", import.meta.url);

/** Slot 0 left as by a writer stopped after it marked the publication begun (sequence odd) and holding the lock. */
function stoppedMidPublish(): SharedTexts {
  const texts = SharedTexts.create(1, 4096);
  assert.equal(texts.publish(0, '{"keys":[]}'), 1);
  const i32 = new Int32Array(texts.buffer);
  // The layout of shared-text.ts: an 8-byte buffer header, then slot 0's words LOCK, SEQ, LENGTH.
  Atomics.store(i32, 2, 1);
  Atomics.add(i32, 3, 1);
  return texts;
}

test("a read of a slot whose writer stopped mid-publication answers 'writing' instead of spinning", { timeout: 60_000 }, async () => {
  const texts = stoppedMidPublish();
  const worker = spawnWorker<never, unknown>(READER, texts.buffer);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const answer = await Promise.race([
      new Promise<unknown>((resolve) => worker.onMessage(resolve)),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve("no answer within 30 s"), 30_000))),
    ]);
    assert.equal(answer, "writing");
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
});
