/**
 * Idempotent producers: a retried batch (same producer id, epoch and sequences) gets its original offset back
 * and is not written twice — within one broker run, after a clean restart (producer snapshot), and after a crash
 * (no snapshot: the batch headers are replayed). Out-of-order sequences and stale epochs are refused.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();

function idempotentBatch(pid: bigint, epoch: number, baseSequence: number, n: number): Uint8Array {
  const bb = new BatchBuilder(4096);
  bb.reset({ producerId: pid, producerEpoch: epoch, baseSequence });
  for (let i = 0; i < n; i++) bb.append(Date.now(), null, new TextEncoder().encode(`seq ${baseSequence + i}`));
  return bb.finish();
}

async function send(c: RawClient, records: Uint8Array): Promise<{ errorCode: number; baseOffset: bigint }> {
  const r = await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: "idem", partitionData: [{ index: 0, records }] }] });
  return r.responses[0].partitionResponses[0];
}

/** The restarts a test runs through: none, a clean stop and start, or a crash (no snapshot, no clean-shutdown marker). */
const RESTARTS = ["none", "clean restart (snapshot)", "crash (replay of batch headers)"] as const;

/** A broker with topic `idem` and an idempotent producer id on a fresh connection. */
async function withProducer(): Promise<{ b: TestBroker; c: RawClient; pid: bigint }> {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  await b.broker.createTopic("idem", 1, 1, {}, false);
  const init = await c.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
  assert.equal(init.errorCode, 0);
  return { b, c, pid: init.producerId as bigint };
}

/** Stops `b` (closing `c`) as `restart` says and starts a broker on its directory again, with a new connection. */
async function restarted(restart: (typeof RESTARTS)[number], b: TestBroker, c: RawClient): Promise<{ b: TestBroker; c: RawClient }> {
  if (restart === "none") return { b, c };
  const dir = b.dir;
  c.close();
  await b.stop({ keepDir: true });
  if (restart.startsWith("crash")) {
    for (const f of fs.readdirSync(path.join(dir, "idem-0"))) if (f.endsWith(".snapshot")) fs.rmSync(path.join(dir, "idem-0", f));
    for (const f of fs.readdirSync(dir)) if (f.includes("cleanshutdown")) fs.rmSync(path.join(dir, f));
  } else {
    assert.ok(fs.readdirSync(path.join(dir, "idem-0")).some((f) => f.endsWith(".snapshot")), "a snapshot was written at shutdown");
  }
  const next = await startTestBroker({}, dir);
  return { b: next, c: await RawClient.connect(next.port) };
}

for (const restart of RESTARTS) {
  test(`a retried idempotent batch is not written twice: ${restart}`, async () => {
    let { b, c, pid } = await withProducer();
    try {
      const first = await send(c, idempotentBatch(pid, 0, 0, 5));
      assert.equal(first.errorCode, 0);
      assert.equal(first.baseOffset, 0n);
      const second = await send(c, idempotentBatch(pid, 0, 5, 5));
      assert.equal(second.errorCode, 0);
      assert.equal(second.baseOffset, 5n);
      ({ b, c } = await restarted(restart, b, c));
      // The second batch again (a retry after a lost response): same offset, nothing appended.
      const retry = await send(c, idempotentBatch(pid, 0, 5, 5));
      assert.equal(retry.errorCode, 0);
      assert.equal(retry.baseOffset, 5n);
      const next = await send(c, idempotentBatch(pid, 0, 10, 5));
      assert.equal(next.errorCode, 0);
      assert.equal(next.baseOffset, 10n, "the retry took no offsets");
      assert.equal((await send(c, idempotentBatch(pid, 0, 20, 1))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
      const bumped = await send(c, idempotentBatch(pid, 1, 0, 1));
      assert.equal(bumped.errorCode, 0, "a new epoch starts at sequence 0");
      assert.equal((await send(c, idempotentBatch(pid, 0, 15, 1))).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    } finally {
      c.close();
      await b.stop();
    }
  });
}

for (const restart of RESTARTS) {
  test(`sequences wrap from 2147483647 to 0, as Kafka's: a batch across the wrap, its retry and the next batch: ${restart}`, async () => {
    // Kafka's last sequence of a batch is DefaultRecordBatch.incrementSequence(baseSequence, lastOffsetDelta), which
    // wraps; a producer without state here may start at any sequence (a long-lived producer near the wrap)
    const MAX = 2147483647;
    let { b, c, pid } = await withProducer();
    try {
      const across = idempotentBatch(pid, 0, MAX - 1, 3); // sequences MAX-1, MAX, 0
      const written = await send(c, across);
      assert.equal(written.errorCode, ErrorCode.NONE, `code ${written.errorCode}`);
      assert.equal(written.baseOffset, 0n);
      ({ b, c } = await restarted(restart, b, c));
      const retry = await send(c, idempotentBatch(pid, 0, MAX - 1, 3));
      assert.equal(retry.errorCode, ErrorCode.NONE, `the retry of the batch across the wrap: code ${retry.errorCode}`);
      assert.equal(retry.baseOffset, 0n, "answered as the duplicate it is");
      const next = await send(c, idempotentBatch(pid, 0, 1, 2));
      assert.equal(next.errorCode, ErrorCode.NONE, `the next batch starts at sequence 1: code ${next.errorCode}`);
      assert.equal(next.baseOffset, 3n);
    } finally {
      c.close();
      await b.stop();
    }
  });
}
