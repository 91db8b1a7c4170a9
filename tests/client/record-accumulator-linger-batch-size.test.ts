/**
 * The record accumulator on a ManualClock: a batch is sendable after linger.ms or as soon as it reaches
 * batch.size, buffer.memory refuses appends until batches complete, flush and memory pressure make batches
 * sendable at once, delivery.timeout.ms expires batches, and retried batches keep their order and back-off.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../../src/platform/clock.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { readBatchHeader, RecordCursor, verifyBatch } from "../../src/protocol/record-batch.ts";
import { BATCH_HEADER_SIZE } from "../../src/protocol/batch-layout.ts";
import { AppendResult, RecordAccumulator } from "../../src/client/record-accumulator.ts";
import { ClientTimeoutError } from "../../src/client/client-errors.ts";

await initCrc32c();

const enc = new TextEncoder();

function make(clock: ManualClock, over: Partial<ConstructorParameters<typeof RecordAccumulator>[0]> = {}) {
  return new RecordAccumulator({ batchSize: 1024, lingerMs: 50, bufferMemory: 64 * 1024, compressor: null, deliveryTimeoutMs: 120_000, clock, ...over });
}

test("a batch becomes sendable exactly when linger.ms has passed", () => {
  const clock = new ManualClock();
  const acc = make(clock);
  assert.equal(acc.append("t", 0, clock.nowMs(), null, enc.encode("a"), undefined, undefined), AppendResult.NewBatch);
  clock.advance(10);
  assert.equal(acc.append("t", 0, clock.nowMs(), null, enc.encode("b"), undefined, undefined), AppendResult.Appended);
  let r = acc.ready(clock.monotonicMs());
  assert.equal(r.ready.length, 0);
  assert.equal(r.nextDelayMs, 40, "linger counts from the batch's first record");
  clock.advance(39);
  assert.equal(acc.ready(clock.monotonicMs()).ready.length, 0);
  clock.advance(1);
  r = acc.ready(clock.monotonicMs());
  assert.equal(r.ready.length, 1);
  const batch = acc.take(r.ready[0]);
  assert.equal(batch.recordCount, 2);
  assert.equal(verifyBatch(batch.bytes!, 0, batch.bytes!.length), null);
  const c = new RecordCursor().resetBatch(batch.bytes!, 0, batch.bytes!.length);
  const values: string[] = [];
  while (c.next()) values.push(new TextDecoder().decode(c.value()!));
  assert.deepEqual(values, ["a", "b"]);
});

test("linger.ms = 0 makes a batch sendable immediately", () => {
  const clock = new ManualClock();
  const acc = make(clock, { lingerMs: 0 });
  acc.append("t", 0, clock.nowMs(), null, enc.encode("x"), undefined, undefined);
  assert.equal(acc.ready(clock.monotonicMs()).ready.length, 1);
});

test("a full batch is sendable before linger.ms and later records open a new batch", () => {
  const clock = new ManualClock();
  const acc = make(clock, { batchSize: 200, lingerMs: 1000 });
  const value = new Uint8Array(30);
  const results: number[] = [];
  for (let i = 0; i < 8; i++) results.push(acc.append("t", 0, clock.nowMs(), null, value, undefined, undefined));
  assert.equal(results[0], AppendResult.NewBatch);
  assert.ok(results.includes(AppendResult.BatchFull), `results ${results}`);
  const r = acc.ready(clock.monotonicMs());
  assert.equal(r.ready.length, 1, "sendable with no time passing");
  const q = r.ready[0];
  assert.equal(q.batches.length, 3, "61-byte header + 3 records of 37 bytes fill a 200-byte batch");
  let taken = 0;
  while (acc.waitMs(q, clock.monotonicMs()) <= 0) {
    const b = acc.take(q);
    assert.ok(b.bytes!.length <= 200, `batch of ${b.bytes!.length} bytes exceeds batch.size`);
    assert.equal(readBatchHeader(b.bytes!).recordsCount, b.recordCount);
    taken += b.recordCount;
  }
  assert.equal(taken, 6);
  assert.equal(q.batches.length, 1);
  assert.equal(q.batches[0].recordCount, 2);
  // The last, still open, waits for its own linger.
  assert.equal(acc.ready(clock.monotonicMs()).ready.length, 0);
  clock.advance(1000);
  assert.equal(acc.ready(clock.monotonicMs()).ready.length, 1);
});

test("a record larger than batch.size gets a batch of its own", () => {
  const clock = new ManualClock();
  const acc = make(clock, { batchSize: 200 });
  acc.append("t", 0, clock.nowMs(), null, new Uint8Array(10), undefined, undefined);
  assert.equal(acc.append("t", 0, clock.nowMs(), null, new Uint8Array(500), undefined, undefined), AppendResult.BatchFull);
  const q = acc.ready(clock.monotonicMs()).ready[0];
  const a = acc.take(q);
  const b = acc.take(q);
  assert.equal(a.recordCount, 1);
  assert.equal(b.recordCount, 1);
  assert.ok(b.bytes!.length > 500 + BATCH_HEADER_SIZE);
});

test("buffer.memory refuses new batches until a batch completes", () => {
  const clock = new ManualClock();
  const acc = make(clock, { batchSize: 1000, bufferMemory: 2500 });
  assert.equal(acc.append("t", 0, clock.nowMs(), null, new Uint8Array(10), undefined, undefined), AppendResult.NewBatch);
  assert.equal(acc.append("t", 1, clock.nowMs(), null, new Uint8Array(10), undefined, undefined), AppendResult.NewBatch);
  assert.equal(acc.memoryInUse, 2000);
  assert.equal(acc.append("t", 2, clock.nowMs(), null, new Uint8Array(10), undefined, undefined), AppendResult.NoMemory);
  // Appending to an open batch needs no new memory.
  assert.equal(acc.append("t", 0, clock.nowMs(), null, new Uint8Array(10), undefined, undefined), AppendResult.Appended);
  let freed = false;
  void acc.whenMemoryFreed().then(() => (freed = true));
  acc.addMemoryWaiter(1);
  const r = acc.ready(clock.monotonicMs());
  assert.equal(r.ready.length, 2, "waiting for memory makes every batch sendable");
  const b = acc.take(r.ready[0]);
  acc.complete(b, null, 0n, -1);
  acc.addMemoryWaiter(-1);
  assert.equal(acc.memoryInUse, 1000);
  assert.equal(acc.append("t", 2, clock.nowMs(), null, new Uint8Array(10), undefined, undefined), AppendResult.NewBatch);
  return Promise.resolve().then(() => assert.ok(freed));
});

test("flush makes a lingering batch sendable at once", () => {
  const clock = new ManualClock();
  const acc = make(clock, { lingerMs: 10_000 });
  acc.append("t", 0, clock.nowMs(), null, new Uint8Array(1), undefined, undefined);
  assert.equal(acc.ready(clock.monotonicMs()).ready.length, 0);
  acc.beginFlush();
  assert.equal(acc.ready(clock.monotonicMs()).ready.length, 1);
  acc.endFlush();
  assert.equal(acc.ready(clock.monotonicMs()).ready.length, 0);
});

test("completions report per-record offsets and timestamps", () => {
  const clock = new ManualClock();
  const acc = make(clock);
  const seen: [string | null, bigint, number][] = [];
  for (let i = 0; i < 3; i++) {
    acc.append("t", 0, 1000 + i, null, new Uint8Array(1), undefined, (err, offset, ts) => seen.push([err?.message ?? null, offset, ts]));
  }
  acc.append("t", 0, 2000, null, new Uint8Array(1), undefined, undefined); // fire-and-forget: no bookkeeping
  clock.advance(50);
  const b = acc.take(acc.ready(clock.monotonicMs()).ready[0]);
  acc.complete(b, null, 40n, -1);
  assert.deepEqual(seen, [[null, 40n, 1000], [null, 41n, 1001], [null, 42n, 1002]]);
  assert.equal(acc.incomplete, 0);
  assert.equal(acc.memoryInUse, 0);
});

test("batches older than delivery.timeout.ms expire with a timeout error", () => {
  const clock = new ManualClock();
  const acc = make(clock, { lingerMs: 0, deliveryTimeoutMs: 500 });
  let error = null as Error | null;
  acc.append("t", 0, clock.nowMs(), null, new Uint8Array(1), undefined, (e) => (error = e));
  assert.equal(acc.expire(clock.monotonicMs()), 500);
  clock.advance(500);
  acc.expire(clock.monotonicMs());
  assert.ok(error instanceof ClientTimeoutError);
  assert.equal(acc.incomplete, 0);
});

test("a retried batch waits for its back-off and for in-flight batches of its partition, and keeps its place", () => {
  const clock = new ManualClock();
  const acc = make(clock, { lingerMs: 0, batchSize: 100 });
  for (let i = 0; i < 3; i++) acc.append("t", 0, clock.nowMs(), null, new Uint8Array(50), undefined, undefined);
  const q = acc.queue("t", 0);
  const b1 = acc.take(q);
  const b2 = acc.take(q);
  assert.equal(q.inFlight, 2);
  acc.reenqueue(b1, clock.monotonicMs() + 100);
  assert.equal(q.batches[0], b1, "the retried batch goes before the newer one");
  assert.equal(acc.waitMs(q, clock.monotonicMs()), Infinity, "waits while b2 is in flight");
  acc.reenqueue(b2, clock.monotonicMs() + 100);
  assert.deepEqual(q.batches.slice(0, 2), [b1, b2]);
  assert.equal(acc.waitMs(q, clock.monotonicMs()), 100);
  clock.advance(100);
  assert.equal(acc.ready(clock.monotonicMs()).ready.length, 1);
  assert.equal(acc.take(q), b1);
  assert.equal(b1.attempts, 1);
});

test("idempotent batches carry the producer id and consecutive sequence numbers", () => {
  const clock = new ManualClock();
  const acc = make(clock, { batchSize: 120, lingerMs: 0 });
  acc.setProducerIdentity(77n, 2);
  for (let i = 0; i < 5; i++) acc.append("t", 0, clock.nowMs(), null, new Uint8Array(30), undefined, undefined);
  const q = acc.queue("t", 0);
  const headers = [];
  while (q.batches.length > 0) headers.push(readBatchHeader(acc.take(q).bytes!));
  let seq = 0;
  for (const h of headers) {
    assert.equal(h.producerId, 77n);
    assert.equal(h.producerEpoch, 2);
    assert.equal(h.baseSequence, seq);
    seq += h.recordsCount;
  }
  assert.equal(seq, 5);
});

test("an uncompressed batch is sealed in its builder's buffer, which a later batch reuses only once the broker answered its only request", () => {
  const clock = new ManualClock();
  const acc = make(clock, { lingerMs: 0 });
  const send = (partition: number, value: string) => {
    acc.append("t", partition, clock.nowMs(), null, enc.encode(value), undefined, undefined);
    return acc.take(acc.queue("t", partition));
  };
  const valuesOf = (bytes: Uint8Array) => {
    const c = new RecordCursor().resetBatch(bytes, 0, bytes.length);
    const out: string[] = [];
    while (c.next()) out.push(new TextDecoder().decode(c.value()!));
    return out;
  };
  const first = send(0, "first");
  const firstBuffer = first.bytes!.buffer;
  assert.equal(firstBuffer.byteLength, 1024, "the batch is a view of the builder's batch.size buffer, not a copy");
  acc.complete(first, null, 0n, -1, true);
  assert.equal(first.bytes, null, "the completed batch lets go of the bytes");
  const second = send(1, "second");
  assert.equal(second.bytes!.buffer, firstBuffer, "the answered batch's buffer is reused");
  assert.equal(verifyBatch(second.bytes!, 0, second.bytes!.length), null);
  assert.deepEqual(valuesOf(second.bytes!), ["second"]);
  // Not answered (acks=0, failure) or sent more than once: its bytes may still be in a socket's queue; not reused.
  acc.complete(second, null, -1n, -1);
  const third = send(2, "third");
  assert.notEqual(third.bytes!.buffer, firstBuffer);
  acc.reenqueue(third, clock.monotonicMs());
  const retried = acc.take(acc.queue("t", 2));
  acc.complete(retried, null, 5n, -1, true);
  assert.notEqual(send(0, "fourth").bytes!.buffer, third.bytes!.buffer, "a retried batch's buffer is not reused");
  assert.deepEqual(valuesOf(second.bytes!), ["second"], "an unreleased batch keeps its bytes");
});
