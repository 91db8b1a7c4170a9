/**
 * KIP-890 verification guard of a partition's producer state (as Kafka's VerificationStateEntry): while a
 * transactional batch waits to join its transaction, or after it was refused, a later batch of the producer starting
 * above it is OUT_OF_ORDER_SEQUENCE_NUMBER, even from a producer the partition has not seen; the guard ends when a
 * transactional batch or a marker of the producer is written, or a newer epoch starts joining.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProducerStateTable } from "../../src/partition/producer-state.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

const code = (c: ReturnType<ProducerStateTable["check"]>) => (c.kind === "error" ? c.code : c.kind);

test("a later batch cannot overtake a transactional batch still joining its transaction", () => {
  const t = new ProducerStateTable();
  assert.equal(code(t.check(7n, 0, 5, 1)), "append", "an unknown producer's first sequence is taken as it comes");
  t.startJoining(7n, 0, 0);
  t.startJoining(7n, 0, 1);
  assert.equal(code(t.check(7n, 0, 1, 1)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(code(t.check(7n, 0, 0, 1)), "append");
  t.record(7n, 0, 0, 1, 10n);
  t.beginTxn(7n, 10n);
  assert.equal(code(t.check(7n, 0, 1, 1)), "append", "written: the guard is gone");
  t.startJoining(7n, 0, 3); // the transaction is open here: nothing to guard
  assert.equal(code(t.check(7n, 0, 1, 1)), "append");
});

test("the guard ends with the producer's marker or a newer epoch joining", () => {
  const t = new ProducerStateTable();
  t.startJoining(8n, 2, 4);
  assert.equal(code(t.check(8n, 2, 5, 1)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  t.completeTxn(8n, 2); // aborted before the batch joined (written elsewhere)
  // The guard is gone; the marker made the producer known here at epoch 2 with nothing written, so (as in Kafka)
  // its next batch here starts at sequence 0.
  assert.equal(code(t.check(8n, 2, 5, 1)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(code(t.check(8n, 2, 0, 1)), "append");
  t.startJoining(9n, 0, 6);
  t.startJoining(9n, 1, 0);
  assert.equal(code(t.check(9n, 1, 0, 1)), "append");
  assert.equal(code(t.check(9n, 1, 1, 1)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  t.startJoining(9n, 0, 0); // an older epoch does not move the guard
  t.clear();
  assert.equal(code(t.check(9n, 1, 1, 1)), "append", "a cleared partition forgets it");
});

test("the guard expires after producer.id.expiration.ms, as Kafka drops verification state", () => {
  let now = 1_000;
  const t = new ProducerStateTable({ nowMs: () => now, producerIdExpirationMs: 60_000 });
  t.startJoining(11n, 0, 2); // refused for good: its partition never joins, no marker comes here
  now += 30_000;
  t.startJoining(12n, 0, 0);
  assert.equal(code(t.check(11n, 0, 7, 1)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, "within the expiry the guard holds");
  now += 30_000;
  assert.equal(code(t.check(11n, 0, 7, 1)), "append", "expired: the producer's later sequences go on");
  assert.equal(code(t.check(12n, 0, 1, 1)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, "a younger guard still holds");
  now += 30_000;
  t.startJoining(13n, 0, 0); // drops every expired guard, oldest first
  assert.equal(t.joiningCount, 1, "only the new guard is kept");
  assert.equal(code(t.check(12n, 0, 1, 1)), "append");
});

test("a newer epoch's guard starts its own expiry", () => {
  let now = 0;
  const t = new ProducerStateTable({ nowMs: () => now, producerIdExpirationMs: 100 });
  t.startJoining(14n, 0, 4);
  now = 90;
  t.startJoining(14n, 1, 0);
  now = 150;
  assert.equal(code(t.check(14n, 1, 1, 1)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, "the epoch 1 guard is 60 ms old");
  now = 190;
  assert.equal(code(t.check(14n, 1, 1, 1)), "append");
});
