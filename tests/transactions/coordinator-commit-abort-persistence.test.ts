/**
 * The transaction coordinator's state machine on a ManualClock with in-memory `__transaction_state`: InitProducerId,
 * AddPartitions, EndTxn commit/abort with their records and markers, retried EndTxn, errors, the Kafka record
 * layout, restart (Ongoing kept, PrepareCommit completed on load), marker retries, Describe/List.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { decodeTxnKey, decodeTxnValue, encodeTxnKey, encodeTxnValue } from "../../src/transactions/transaction-state-records.ts";
import { COMPLETION_RETRY_BACKOFF_MS, transactionPartitionFor } from "../../src/transactions/transaction-coordinator.ts";
import { flush, init, track, txnHarness } from "./txn-harness.ts";

const T0 = [{ topic: "t", partition: 0 }];
const TWO = [{ topic: "t", partition: 1 }, { topic: "a", partition: 2 }];

test("a new transactional id gets a producer id at epoch 0; InitProducerId again bumps the epoch of the same id", async () => {
  const h = txnHarness();
  const a = await init(h, "tx");
  assert.deepEqual(a, { pid: 1000n, epoch: 0 });
  const b = await init(h, "tx");
  assert.deepEqual(b, { pid: 1000n, epoch: 1 });
  const other = await init(h, "other");
  assert.equal(other.pid, 1001n);
  assert.deepEqual(h.storage.recordsOf("tx").map((r) => [r!.state, r!.producerEpoch]), [["Empty", 0], ["Empty", 1]]);
  assert.equal(h.storage.partitionCount(), 3, "__transaction_state created with transaction.state.log.num.partitions");
});

test("commit: partitions make the transaction Ongoing, EndTxn writes PrepareCommit, COMMIT markers everywhere, then CompleteCommit", async () => {
  const h = txnHarness();
  const { pid, epoch } = await init(h, "tx");
  assert.equal(h.coord.verifyProduce(pid, epoch, "t", 1), ErrorCode.INVALID_TXN_STATE, "not added yet");
  assert.equal(await h.coord.addPartitions("tx", pid, epoch, TWO), ErrorCode.NONE);
  assert.equal(await h.coord.addPartitions("tx", pid, epoch, [{ topic: "t", partition: 1 }]), ErrorCode.NONE, "already in: answered without a write");
  assert.equal(h.coord.verifyProduce(pid, epoch, "t", 1), ErrorCode.NONE);
  assert.equal(h.coord.verifyProduce(pid, epoch, "t", 0), ErrorCode.INVALID_TXN_STATE);
  assert.equal(h.coord.verifyProduce(pid, epoch + 1, "t", 1), ErrorCode.INVALID_PRODUCER_EPOCH);
  const d = h.coord.describe("tx");
  assert.equal(d.state, "Ongoing");
  assert.deepEqual(d.topics, [{ topic: "a", partitions: [2] }, { topic: "t", partitions: [1] }]);
  assert.equal(d.startTimestamp, h.clock.nowMs());

  const r = await h.coord.endTransaction("tx", pid, epoch, true);
  assert.deepEqual(r, { errorCode: ErrorCode.NONE, producerId: pid, producerEpoch: epoch });
  assert.deepEqual(h.storage.recordsOf("tx").map((x) => x!.state), ["Empty", "Ongoing", "PrepareCommit", "CompleteCommit"]);
  const prepare = h.storage.recordsOf("tx")[2]!;
  assert.deepEqual([...prepare.partitions.entries()].map(([t, s]) => [t, [...s]]), [["a", [2]], ["t", [1]]], "Prepare keeps the partitions, for a restart");
  assert.equal(h.markers.requests.length, 1);
  assert.deepEqual(h.markers.requests[0], { producerId: pid, producerEpoch: epoch, commit: true, coordinatorEpoch: 0, partitions: [{ topic: "a", partition: 2 }, { topic: "t", partition: 1 }] });
  assert.equal(h.coord.describe("tx").state, "CompleteCommit");
  assert.deepEqual(h.coord.describe("tx").topics, []);
  assert.equal(h.coord.verifyProduce(pid, epoch, "t", 1), ErrorCode.INVALID_TXN_STATE, "after the commit the partition must be added again");

  // A retried EndTxn (its answer was lost) answers NONE; the opposite outcome is INVALID_TXN_STATE.
  assert.equal((await h.coord.endTransaction("tx", pid, epoch, true)).errorCode, ErrorCode.NONE);
  assert.equal((await h.coord.endTransaction("tx", pid, epoch, false)).errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal(h.markers.requests.length, 1, "no second set of markers");

  // The next transaction starts from CompleteCommit.
  assert.equal(await h.coord.addPartitions("tx", pid, epoch, T0), ErrorCode.NONE);
  assert.equal((await h.coord.endTransaction("tx", pid, epoch, false)).errorCode, ErrorCode.NONE);
  assert.deepEqual(h.markers.requests[1], { producerId: pid, producerEpoch: epoch, commit: false, coordinatorEpoch: 0, partitions: T0 });
  assert.equal(h.coord.describe("tx").state, "CompleteAbort");
  assert.equal((await h.coord.endTransaction("tx", pid, epoch, false)).errorCode, ErrorCode.NONE, "retried abort");
  assert.equal((await h.coord.endTransaction("tx", pid, epoch, true)).errorCode, ErrorCode.INVALID_TXN_STATE);
});

test("errors: unknown id or producer id, empty id, EndTxn with nothing open, timeout above transaction.max.timeout.ms", async () => {
  const h = txnHarness({ maxTimeoutMs: 60_000 });
  const { pid, epoch } = await init(h, "tx");
  assert.equal(await h.coord.addPartitions("nope", pid, epoch, T0), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal(await h.coord.addPartitions("tx", pid + 1n, epoch, T0), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal(await h.coord.addPartitions("tx", pid, epoch + 1, T0), ErrorCode.PRODUCER_FENCED);
  assert.equal(await h.coord.addPartitions("", pid, epoch, T0), ErrorCode.INVALID_REQUEST);
  assert.equal((await h.coord.endTransaction("tx", pid, epoch, true)).errorCode, ErrorCode.INVALID_TXN_STATE, "Empty: nothing to commit");
  assert.equal((await h.coord.endTransaction("nope", pid, epoch, true)).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal((await h.coord.initProducerId({ transactionalId: "", transactionTimeoutMs: 1000, producerId: -1n, producerEpoch: -1 })).errorCode, ErrorCode.INVALID_REQUEST);
  for (const timeout of [0, -5, 60_001]) {
    assert.equal((await h.coord.initProducerId({ transactionalId: "x", transactionTimeoutMs: timeout, producerId: -1n, producerEpoch: -1 })).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  }
  assert.equal(h.coord.describe("nope").errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
  h.coord.stop();
  assert.equal(await h.coord.addPartitions("tx", pid, epoch, T0), ErrorCode.NOT_COORDINATOR);
});

test("the state records use Kafka's TransactionLogKey v0 and TransactionLogValue v0 layouts (v1 with tagged fields)", () => {
  const key = encodeTxnKey("my-tx");
  assert.deepEqual([...key], [0, 0, 0, 5, ...new TextEncoder().encode("my-tx")]);
  assert.equal(decodeTxnKey(key), "my-tx");
  const partitions = new Map([["b", new Set([3, 1])], ["a", new Set([0])]]);
  const v0 = encodeTxnValue({ producerId: 7n, previousProducerId: -1n, nextProducerId: -1n, producerEpoch: 2, timeoutMs: 60000, state: "Ongoing", partitions, lastUpdateTimestamp: 1000, startTimestamp: 900, clientTransactionVersion: 0 });
  const expected = [
    0, 0, // version
    0, 0, 0, 0, 0, 0, 0, 7, // producer id
    0, 2, // epoch
    0, 0, 0xea, 0x60, // timeout 60000
    1, // Ongoing
    0, 0, 0, 2, // two topics, sorted
    0, 1, 0x61, 0, 0, 0, 1, 0, 0, 0, 0, // "a" [0]
    0, 1, 0x62, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, // "b" [1, 3]
    0, 0, 0, 0, 0, 0, 0x03, 0xe8, // last update 1000
    0, 0, 0, 0, 0, 0, 0x03, 0x84, // start 900
  ];
  assert.deepEqual([...v0], expected);
  const back = decodeTxnValue(v0);
  assert.equal(back.state, "Ongoing");
  assert.deepEqual([...back.partitions.get("b")!].sort(), [1, 3]);
  const empty = encodeTxnValue({ ...back, state: "Empty", partitions: new Map() });
  assert.deepEqual([...empty.subarray(17, 21)], [0xff, 0xff, 0xff, 0xff], "Empty writes null partitions");
  const v1 = encodeTxnValue({ ...back, previousProducerId: 5n, nextProducerId: 9n, clientTransactionVersion: 2 });
  assert.equal(v1[1], 1, "tagged fields need the flexible v1");
  const back1 = decodeTxnValue(v1);
  assert.deepEqual([back1.previousProducerId, back1.nextProducerId, back1.clientTransactionVersion, back1.producerEpoch], [5n, 9n, 2, 2]);
  assert.deepEqual([...back1.partitions.get("b")!].sort(), [1, 3]);
  // Kafka's partitioning of transactional ids: abs(String.hashCode) % partitions.
  assert.equal(transactionPartitionFor("my-tx", 50), Math.abs(javaHash("my-tx")) % 50);
});

function javaHash(s: string): number {
  let h = 0;
  for (const c of s) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return h;
}

test("a restart keeps an Ongoing transaction with its partitions, and completes a PrepareCommit left by a crash", async () => {
  const h = txnHarness();
  const a = await init(h, "open");
  assert.equal(await h.coord.addPartitions("open", a.pid, a.epoch, TWO), ErrorCode.NONE);
  const b = await init(h, "crashed");
  assert.equal(await h.coord.addPartitions("crashed", b.pid, b.epoch, T0), ErrorCode.NONE);
  h.markers.hang = true;
  const end = track(h.coord.endTransaction("crashed", b.pid, b.epoch, true));
  await flush();
  assert.equal(end.done, false, "markers never written: the broker 'crashes' in PrepareCommit");
  assert.equal(h.coord.describe("crashed").state, "PrepareCommit");

  h.markers.hang = false;
  const before = h.markers.requests.length;
  const c = h.restart();
  await flush();
  assert.equal(c.describe("open").state, "Ongoing");
  assert.deepEqual(c.describe("open").topics, [{ topic: "a", partitions: [2] }, { topic: "t", partitions: [1] }]);
  assert.equal(c.verifyProduce(a.pid, a.epoch, "t", 1), ErrorCode.NONE, "the producer goes on after the restart");
  assert.equal(c.describe("crashed").state, "CompleteCommit");
  assert.deepEqual(h.markers.requests.slice(before), [{ producerId: b.pid, producerEpoch: b.epoch, commit: true, coordinatorEpoch: 0, partitions: T0 }]);
  // The restarted coordinator goes on from the stored epochs.
  assert.deepEqual(await init(h, "crashed"), { pid: b.pid, epoch: b.epoch + 1 });
  assert.equal((await c.endTransaction("open", a.pid, a.epoch, false)).errorCode, ErrorCode.NONE);
});

test("markers that fail are retried after the backoff; EndTxn answers once the decision is durable", async () => {
  const h = txnHarness();
  const { pid, epoch } = await init(h, "tx");
  assert.equal(await h.coord.addPartitions("tx", pid, epoch, TWO), ErrorCode.NONE);
  h.markers.fail.add("a");
  const r = await h.coord.endTransaction("tx", pid, epoch, true);
  assert.equal(r.errorCode, ErrorCode.NONE);
  assert.equal(h.coord.describe("tx").state, "PrepareCommit", "one marker is still owed");
  assert.equal(await h.coord.addPartitions("tx", pid, epoch, T0), ErrorCode.CONCURRENT_TRANSACTIONS);
  h.markers.fail.clear();
  h.clock.advance(COMPLETION_RETRY_BACKOFF_MS);
  await flush();
  assert.equal(h.coord.describe("tx").state, "CompleteCommit");
  assert.deepEqual(h.markers.requests.map((q) => q.partitions), [
    [{ topic: "a", partition: 2 }, { topic: "t", partition: 1 }],
    [{ topic: "a", partition: 2 }],
  ], "only the failed partition is written again");
});

test("verify-only checks membership at the current epoch; Describe and List report states with filters", async () => {
  const h = txnHarness();
  const a = await init(h, "app-1");
  const b = await init(h, "app-2");
  await init(h, "other");
  assert.equal(await h.coord.addPartitions("app-1", a.pid, a.epoch, T0), ErrorCode.NONE);
  assert.deepEqual(h.coord.verifyPartitions("app-1", a.pid, a.epoch, [...T0, { topic: "t", partition: 5 }]), { errorCode: 0, partitionErrors: [0, ErrorCode.INVALID_TXN_STATE] });
  assert.equal(h.coord.verifyPartitions("app-1", a.pid, a.epoch + 1, T0).errorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal(h.coord.verifyPartitions("app-2", a.pid, a.epoch, T0).errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal(h.coord.verifyPartitions("app-2", b.pid, b.epoch, T0).partitionErrors[0], ErrorCode.INVALID_TXN_STATE);

  const d = h.coord.describe("app-1");
  assert.deepEqual({ ...d }, { errorCode: 0, transactionalId: "app-1", state: "Ongoing", timeoutMs: 60_000, startTimestamp: h.clock.nowMs(), producerId: a.pid, producerEpoch: a.epoch, topics: [{ topic: "t", partitions: [0] }] });
  const ids = (f: Parameters<typeof h.coord.list>[0]) => h.coord.list(f).transactions.map((t) => t.transactionalId).sort();
  assert.deepEqual(ids({}), ["app-1", "app-2", "other"]);
  assert.deepEqual(ids({ states: ["Ongoing"] }), ["app-1"]);
  assert.deepEqual(ids({ producerIds: [b.pid] }), ["app-2"]);
  assert.deepEqual(ids({ pattern: /^(?:app-.*)$/ }), ["app-1", "app-2"]);
  assert.deepEqual(ids({ minDurationMs: 5000 }), []);
  h.clock.advance(6000);
  assert.deepEqual(ids({ minDurationMs: 5000 }), ["app-1"]);
  assert.deepEqual(h.coord.list({ states: ["Ongoing", "Bogus"] }).unknownStates, ["Bogus"]);
});
