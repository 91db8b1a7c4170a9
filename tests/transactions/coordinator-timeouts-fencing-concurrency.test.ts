/**
 * The transaction coordinator on a ManualClock: transactions open past their timeout are aborted and their producer
 * fenced; a new producer instance fences the old one (InitProducerId bumps the epoch and aborts its transaction);
 * KIP-360 resumes and retried bumps; producer id rotation at epoch exhaustion; CONCURRENT_TRANSACTIONS while a
 * transition or a commit is being written; transactional id expiry; transaction version 2 epoch bumps.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { flush, init, track, txnHarness } from "./txn-harness.ts";

const T0 = [{ topic: "t", partition: 0 }];

test("a transaction open longer than transaction.timeout.ms is aborted with a bumped epoch, fencing its producer", async () => {
  const h = txnHarness({ abortTimedOutIntervalMs: 1000 });
  const { pid, epoch } = await init(h, "tx", 5000);
  assert.equal(await h.coord.addPartitions("tx", pid, epoch, T0), ErrorCode.NONE);
  h.clock.advance(4000);
  await flush();
  assert.equal(h.coord.describe("tx").state, "Ongoing", "not yet timed out");
  h.clock.advance(2000);
  await flush();
  assert.equal(h.coord.describe("tx").state, "CompleteAbort");
  assert.deepEqual(h.markers.requests, [{ producerId: pid, producerEpoch: epoch + 1, commit: false, coordinatorEpoch: 0, partitions: T0 }], "ABORT markers carry the fencing epoch");
  assert.ok(h.logs.some((l) => l.includes("aborting the transaction open since")));
  // The timed-out producer is fenced everywhere.
  assert.equal((await h.coord.endTransaction("tx", pid, epoch, true)).errorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal(await h.coord.addPartitions("tx", pid, epoch, T0), ErrorCode.PRODUCER_FENCED);
  assert.equal(h.coord.verifyProduce(pid, epoch, "t", 0), ErrorCode.INVALID_PRODUCER_EPOCH);
  // A new instance gets the next epoch.
  assert.deepEqual(await init(h, "tx", 5000), { pid, epoch: epoch + 2 });
  // An idle transactional id (no transaction open) never times out.
  h.clock.advance(60_000);
  await flush();
  assert.equal(h.coord.describe("tx").state, "Empty");
});

test("InitProducerId while a transaction is open fences the old producer, aborts it and answers CONCURRENT_TRANSACTIONS; the retry gets epoch + 2", async () => {
  const h = txnHarness();
  const old = await init(h, "tx");
  assert.equal(await h.coord.addPartitions("tx", old.pid, old.epoch, T0), ErrorCode.NONE);
  const first = await h.coord.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  assert.equal(first.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  assert.equal(h.coord.describe("tx").state, "CompleteAbort", "the abort is complete when the answer comes");
  assert.deepEqual(h.markers.requests[0], { producerId: old.pid, producerEpoch: old.epoch + 1, commit: false, coordinatorEpoch: 0, partitions: T0 });
  const retry = await init(h, "tx");
  assert.deepEqual(retry, { pid: old.pid, epoch: old.epoch + 2 });
  // The zombie is fenced.
  assert.equal((await h.coord.endTransaction("tx", old.pid, old.epoch, true)).errorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal(await h.coord.addPartitions("tx", old.pid, old.epoch, T0), ErrorCode.PRODUCER_FENCED);
});

test("KIP-360: InitProducerId with the current id and epoch bumps it; a retried bump gets the same answer; a stale one is PRODUCER_FENCED", async () => {
  const h = txnHarness();
  const a = await init(h, "tx");
  const bump = (producerId: bigint, producerEpoch: number) => h.coord.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 60_000, producerId, producerEpoch });
  const b = await bump(a.pid, a.epoch);
  assert.deepEqual([b.errorCode, b.producerId, b.producerEpoch], [0, a.pid, a.epoch + 1]);
  const again = await bump(a.pid, a.epoch);
  assert.deepEqual([again.errorCode, again.producerId, again.producerEpoch], [0, a.pid, a.epoch + 1], "a retry of the same bump");
  const c = await bump(a.pid, a.epoch + 1);
  assert.deepEqual([c.errorCode, c.producerEpoch], [0, a.epoch + 2]);
  assert.equal((await bump(a.pid, a.epoch)).errorCode, ErrorCode.PRODUCER_FENCED, "two bumps behind");
  assert.equal((await bump(a.pid + 77n, 0)).errorCode, ErrorCode.PRODUCER_FENCED, "another producer id");
});

test("an exhausted epoch rotates to a new producer id at epoch 0", async () => {
  const h = txnHarness();
  const a = await init(h, "tx");
  // Drive the stored epoch to the limit through the state log, as a long-lived id would get there.
  const meta = h.coord.metadata("tx")! as { producerEpoch: number };
  meta.producerEpoch = 32766;
  const r = await h.coord.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 60_000, producerId: a.pid, producerEpoch: 32766 });
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.notEqual(r.producerId, a.pid);
  assert.equal(r.producerEpoch, 0);
  assert.equal(h.storage.recordsOf("tx").at(-1)!.previousProducerId, a.pid, "the previous id is kept (v1 tagged field)");
  // A retry of the rotation (answer lost) with the old id and exhausted epoch gets the new id again.
  const again = await h.coord.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 60_000, producerId: a.pid, producerEpoch: 32766 });
  assert.deepEqual([again.errorCode, again.producerId, again.producerEpoch], [0, r.producerId, 0]);
});

test("CONCURRENT_TRANSACTIONS while a transition is written and while a commit completes", async () => {
  const h = txnHarness();
  const { pid, epoch } = await init(h, "tx");
  h.storage.hold = true;
  const add = track(h.coord.addPartitions("tx", pid, epoch, T0));
  await flush();
  assert.equal(add.done, false);
  assert.equal(await h.coord.addPartitions("tx", pid, epoch, [{ topic: "t", partition: 1 }]), ErrorCode.CONCURRENT_TRANSACTIONS);
  h.storage.release();
  await flush();
  assert.equal(add.value, ErrorCode.NONE);

  const end = track(h.coord.endTransaction("tx", pid, epoch, true));
  await flush();
  assert.equal(h.coord.metadata("tx")!.pending, "PrepareCommit");
  const during = async () => [
    await h.coord.addPartitions("tx", pid, epoch, T0),
    (await h.coord.initProducerId({ transactionalId: "tx", transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 })).errorCode,
    (await h.coord.endTransaction("tx", pid, epoch, true)).errorCode,
  ];
  assert.deepEqual(await during(), [ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.CONCURRENT_TRANSACTIONS]);
  assert.equal((await h.coord.endTransaction("tx", pid, epoch, false)).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS, "a pending write answers CONCURRENT_TRANSACTIONS first");
  h.storage.release(); // PrepareCommit durable; markers written; CompleteCommit now held
  await flush();
  assert.equal(h.coord.describe("tx").state, "PrepareCommit");
  assert.equal(h.markers.requests.length, 1);
  assert.deepEqual(await during(), [ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.CONCURRENT_TRANSACTIONS]);
  assert.equal(end.done, false, "EndTxn answers once the transaction is complete");
  h.storage.release();
  await flush();
  assert.deepEqual(end.value, { errorCode: 0, producerId: pid, producerEpoch: epoch });
  assert.equal(h.coord.describe("tx").state, "CompleteCommit");
  h.storage.hold = false;
  assert.equal(await h.coord.addPartitions("tx", pid, epoch, T0), ErrorCode.NONE);
});

test("transactional ids idle longer than transactional.id.expiration.ms are removed with a tombstone; open ones stay", async () => {
  const h = txnHarness({ transactionalIdExpirationMs: 10_000, removeExpiredIntervalMs: 1000, abortTimedOutIntervalMs: 3_600_000 });
  await init(h, "idle");
  const busy = await init(h, "busy", 900_000);
  assert.equal(await h.coord.addPartitions("busy", busy.pid, busy.epoch, T0), ErrorCode.NONE);
  h.clock.advance(9000);
  await flush();
  assert.equal(h.coord.describe("idle").errorCode, 0);
  h.clock.advance(2000);
  await flush();
  assert.equal(h.coord.describe("idle").errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
  assert.equal(h.storage.recordsOf("idle").at(-1), null, "a tombstone");
  assert.equal(h.coord.describe("busy").state, "Ongoing");
  assert.ok(h.logs.some((l) => l.includes("idle: expired")));
  // Expired ids stay gone after a restart; a new InitProducerId starts over with a fresh producer id.
  const c = h.restart();
  assert.equal(c.describe("idle").errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
  const again = await init(h, "idle");
  assert.equal(again.epoch, 0);
});

test("transaction version 2 (EndTxn v5): every EndTxn bumps the epoch; a retry with the previous epoch gets the same answer", async () => {
  const h = txnHarness();
  const { pid, epoch } = await init(h, "tx");
  assert.equal(await h.coord.addPartitions("tx", pid, epoch, T0), ErrorCode.NONE);
  const r = await h.coord.endTransaction("tx", pid, epoch, true, true);
  assert.deepEqual(r, { errorCode: 0, producerId: pid, producerEpoch: epoch + 1 });
  assert.equal(h.markers.requests[0].producerEpoch, epoch + 1, "markers carry the bumped epoch");
  assert.deepEqual(await h.coord.endTransaction("tx", pid, epoch, true, true), r, "retry");
  assert.equal(h.storage.recordsOf("tx").at(-1)!.clientTransactionVersion, 2);
  // Aborting with nothing open just bumps the epoch.
  const a = await h.coord.endTransaction("tx", pid, epoch + 1, false, true);
  assert.deepEqual(a, { errorCode: 0, producerId: pid, producerEpoch: epoch + 2 });
  assert.equal(h.markers.requests.length, 1, "no markers for an empty transaction");
  assert.equal((await h.coord.endTransaction("tx", pid, epoch, true, true)).errorCode, ErrorCode.PRODUCER_FENCED);
});
