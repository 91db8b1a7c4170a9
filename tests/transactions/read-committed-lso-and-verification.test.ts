/**
 * Transactions on a real broker over raw requests: read_committed fetches stop at the last stable offset and carry
 * the aborted transactions of the range, read_uncommitted sees everything; ListOffsets latest honours the
 * isolation level; transactional Produce needs its partition in the transaction at the current epoch; control
 * batches from clients are refused; the LSO and aborted transactions survive a clean restart and a crash; the
 * Runnel consumer with isolation.level=read_committed drops aborted records.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startTestBroker } from "../support/broker.ts";
import { committedOffsets, describeTransaction, hasPendingTransactionalOffset } from "../support/group-state.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { buildControlBatch } from "../../src/protocol/control-record.ts";
import { RawTxnProducer, batchOf, fetchPartition, latestOffset, produce } from "./raw-txn-client.ts";
import { Consumer } from "../../src/client/consumer.ts";

const OVERRIDES = { "transaction.state.log.num.partitions": "3" };

test("read_committed stops at the LSO and gets the aborted transactions; read_uncommitted reads everything", async () => {
  const b = await startTestBroker(OVERRIDES);
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("t", 1, 1, {}, false);
    assert.equal((await produce(c, "t", 0, batchOf(["plain"]))).baseOffset, 0n);
    const a = new RawTxnProducer(c, "txn-a");
    const bb = new RawTxnProducer(c, "txn-b");
    assert.equal(await a.init(), 0);
    assert.equal(await bb.init(), 0);
    assert.deepEqual(await a.add("t", [0]), [0]);
    assert.equal((await a.send("t", 0, ["a1", "a2"])).baseOffset, 1n);

    // A's open transaction holds the LSO at 1.
    let rc = await fetchPartition(c, "t", 0, 0n, true);
    assert.equal(rc.data.highWatermark, 3n);
    assert.equal(rc.data.lastStableOffset, 1n);
    assert.deepEqual(rc.batches.map((x) => x.baseOffset), [0n], "only below the LSO");
    assert.deepEqual(rc.data.abortedTransactions, []);
    assert.equal(await latestOffset(c, "t", 0, true), 1n);
    assert.equal(await latestOffset(c, "t", 0, false), 3n);
    const ru = await fetchPartition(c, "t", 0, 0n, false);
    assert.deepEqual(ru.batches.map((x) => x.baseOffset), [0n, 1n]);
    assert.equal(ru.data.abortedTransactions, null);
    assert.equal(ru.data.lastStableOffset, 1n, "every response carries the LSO");

    // B writes and aborts while A is still open.
    assert.deepEqual(await bb.add("t", [0]), [0]);
    assert.equal((await bb.send("t", 0, ["b1"])).baseOffset, 3n);
    assert.equal(await bb.end(false), 0);
    rc = await fetchPartition(c, "t", 0, 0n, true);
    assert.equal(rc.data.lastStableOffset, 1n, "A is still open");
    assert.equal(await a.end(true), 0);
    rc = await fetchPartition(c, "t", 0, 0n, true);
    assert.equal(rc.data.lastStableOffset, 6n);
    assert.equal(rc.data.highWatermark, 6n);
    assert.deepEqual(rc.batches.map((x) => [x.baseOffset, x.marker]), [[0n, null], [1n, null], [3n, null], [4n, "ABORT"], [5n, "COMMIT"]]);
    assert.deepEqual(rc.data.abortedTransactions, [{ producerId: bb.pid, firstOffset: 3n }]);
    // A fetch after the aborted transaction does not carry it.
    rc = await fetchPartition(c, "t", 0, 5n, true);
    assert.deepEqual(rc.data.abortedTransactions, []);
    assert.equal(await latestOffset(c, "t", 0, true), 6n);
    // The index file is on disk in Kafka's layout.
    const idx = fs.readFileSync(path.join(b.dir, "t-0", "00000000000000000000.txnindex"));
    assert.equal(idx.length, 34);
  } finally {
    c.close();
    await b.stop();
  }
});

test("a transactional produce needs its partition in the ongoing transaction and the current epoch; clients cannot write control batches", async () => {
  const b = await startTestBroker(OVERRIDES);
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("t", 2, 1, {}, false);
    const p = new RawTxnProducer(c, "txn");
    assert.equal(await p.init(), 0);
    let r = await p.send("t", 0, ["x"]);
    assert.equal(r.errorCode, ErrorCode.INVALID_TXN_STATE, "not added");
    assert.deepEqual(await p.add("t", [0]), [0]);
    r = await produce(c, "t", 0, batchOf(["x"], p.pid, p.epoch + 1, 0), "txn");
    assert.equal(r.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal((await p.send("t", 0, ["x"])).errorCode, 0);
    assert.equal((await p.send("t", 1, ["y"])).errorCode, ErrorCode.INVALID_TXN_STATE, "only partition 0 was added");
    // An idempotent (non-transactional) producer id cannot write transactional batches: without a transactional id
    // Kafka refuses the whole request (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, tests/oracle/produce-random-match-kafka).
    const idem = await c.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    r = await produce(c, "t", 1, batchOf(["z"], idem.producerId, idem.producerEpoch, 0));
    assert.equal(r.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    // A forged COMMIT marker is refused.
    const marker = buildControlBatch({ producerId: p.pid, producerEpoch: p.epoch, type: 1, coordinatorEpoch: 0, timestampMs: Date.now() });
    r = await produce(c, "t", 0, marker, "txn");
    assert.equal(r.errorCode, ErrorCode.INVALID_RECORD);
    const rc = await fetchPartition(c, "t", 0, 0n, true);
    assert.equal(rc.data.lastStableOffset, 0n, "the transaction is still open");
    // Unknown partitions in AddPartitionsToTxn: nothing is added.
    assert.deepEqual(await p.add("t", [1, 7]), [ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    assert.deepEqual((await describeTransaction(b.port, "txn")).topics, [{ topic: "t", partitions: [0] }]);
    assert.equal(await p.end(true), 0);
    assert.equal((await p.send("t", 0, ["after"])).errorCode, ErrorCode.INVALID_TXN_STATE, "the next transaction must add it again");
  } finally {
    c.close();
    await b.stop();
  }
});

for (const how of ["clean restart", "crash"] as const) {
  test(`an open transaction keeps the LSO and aborted transactions stay known across a ${how}`, async () => {
    let b = await startTestBroker(OVERRIDES);
    const dir = b.dir;
    let c = await RawClient.connect(b.port);
    try {
      await b.broker.createTopic("t", 1, 1, {}, false);
      const x = new RawTxnProducer(c, "x");
      const y = new RawTxnProducer(c, "y");
      assert.equal(await x.init(), 0);
      assert.equal(await y.init(), 0);
      assert.deepEqual(await y.add("t", [0]), [0]);
      assert.equal((await y.send("t", 0, ["y1"])).baseOffset, 0n);
      assert.equal(await y.end(false), 0); // ABORT marker at 1
      assert.deepEqual(await x.add("t", [0]), [0]);
      assert.equal((await x.send("t", 0, ["x1"])).baseOffset, 2n); // open
      assert.equal((await produce(c, "t", 0, batchOf(["plain"]))).baseOffset, 3n);
      c.close();
      await b.stop({ keepDir: true });
      if (how === "crash") {
        // No producer snapshot and no index: both are rebuilt from the log.
        for (const f of fs.readdirSync(path.join(dir, "t-0"))) if (f.endsWith(".snapshot") || f.endsWith(".txnindex")) fs.rmSync(path.join(dir, "t-0", f));
        for (const f of fs.readdirSync(dir)) if (f.includes("cleanshutdown")) fs.rmSync(path.join(dir, f));
      }
      b = await startTestBroker(OVERRIDES, dir);
      c = await RawClient.connect(b.port);
      let rc = await fetchPartition(c, "t", 0, 0n, true);
      assert.equal(rc.data.lastStableOffset, 2n, "x's transaction is still open");
      assert.deepEqual(rc.data.abortedTransactions, [{ producerId: y.pid, firstOffset: 0n }]);
      assert.equal((await describeTransaction(b.port, "x")).state, "Ongoing");
      const x2 = new RawTxnProducer(c, "x");
      assert.equal(await x2.init(), 0, "a new instance fences x and aborts its transaction");
      assert.equal(x2.epoch, x.epoch + 2);
      rc = await fetchPartition(c, "t", 0, 0n, true);
      assert.equal(rc.data.lastStableOffset, rc.data.highWatermark);
      assert.deepEqual(rc.data.abortedTransactions, [{ producerId: y.pid, firstOffset: 0n }, { producerId: x.pid, firstOffset: 2n }]);
    } finally {
      c.close();
      await b.stop();
    }
  });
}

test("TxnOffsetCommit: offsets commit with the transaction, are dropped on abort, need AddOffsetsToTxn, and survive a restart (open ones too)", async () => {
  let b = await startTestBroker(OVERRIDES);
  const dir = b.dir;
  let c = await RawClient.connect(b.port);
  const committed = async () => (await committedOffsets(b.port, "g", "t", [0]))[0];
  try {
    await b.broker.createTopic("t", 1, 1, {}, false);
    const p = new RawTxnProducer(c, "tx");
    assert.equal(await p.init(), 0);
    assert.equal(await p.commitOffset("g", "t", 0, 10n), ErrorCode.INVALID_TXN_STATE, "AddOffsetsToTxn first");
    assert.equal(await p.addOffsets("g"), 0);
    assert.equal(await p.commitOffset("g", "t", 0, 42n), 0);
    assert.equal(await committed(), -1n, "not visible before the commit");
    assert.equal(await hasPendingTransactionalOffset(b.port, "g", "t", 0), true);
    const fetchOffsets = (requireStable: boolean) => c.request(9, 7, { groupId: "g", topics: [{ name: "t", partitionIndexes: [0] }], requireStable });
    assert.equal((await fetchOffsets(true)).topics[0].partitions[0].errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT, "requireStable waits for the transaction");
    assert.equal((await fetchOffsets(false)).topics[0].partitions[0].errorCode, 0);
    assert.equal(await p.end(true), 0);
    assert.equal((await fetchOffsets(true)).topics[0].partitions[0].committedOffset, 42n, "stable once committed");
    assert.equal(await committed(), 42n);
    assert.equal(await p.addOffsets("g"), 0);
    assert.equal(await p.commitOffset("g", "t", 0, 50n), 0);
    assert.equal(await p.end(false), 0);
    assert.equal(await committed(), 42n, "dropped on abort");
    // A transaction with offsets left open across a restart.
    assert.equal(await p.addOffsets("g"), 0);
    assert.equal(await p.commitOffset("g", "t", 0, 60n), 0);
    c.close();
    await b.stop({ keepDir: true });
    b = await startTestBroker(OVERRIDES, dir);
    c = await RawClient.connect(b.port);
    assert.equal(await committed(), 42n, "replayed: committed 42, aborted 50, 60 still pending");
    assert.equal(await hasPendingTransactionalOffset(b.port, "g", "t", 0), true);
    const again = new RawTxnProducer(c, "tx");
    again.pid = p.pid;
    again.epoch = p.epoch;
    assert.equal(await again.end(true), 0, "the same producer commits after the restart");
    assert.equal(await committed(), 60n);
  } finally {
    c.close();
    await b.stop();
  }
});

test("the Runnel consumer with isolation.level=read_committed drops interleaved aborted transactions and stops at the LSO", async () => {
  const b = await startTestBroker(OVERRIDES);
  const c = await RawClient.connect(b.port);
  const consumers: Consumer[] = [];
  const readAll = async (isolationLevel: "read_committed" | "read_uncommitted", want: number, polls = 40) => {
    const k = new Consumer({ bootstrap: b.bootstrap, isolationLevel, fetchMaxWaitMs: 50 });
    consumers.push(k);
    await k.connect();
    k.assign([{ topic: "t", partition: 0 }]);
    k.seek("t", 0, 0n);
    const got: string[] = [];
    for (let i = 0; i < polls && got.length < want; i++) for (const r of await k.poll(100)) got.push(new TextDecoder().decode(r.value!));
    return got;
  };
  try {
    await b.broker.createTopic("t", 1, 1, {}, false);
    const good = new RawTxnProducer(c, "good");
    const bad = new RawTxnProducer(c, "bad");
    assert.equal(await good.init(), 0);
    assert.equal(await bad.init(), 0);
    await good.add("t", [0]);
    await bad.add("t", [0]);
    await good.send("t", 0, ["g1"]);
    await bad.send("t", 0, ["b1", "b2"]);
    await good.send("t", 0, ["g2"]);
    await bad.send("t", 0, ["b3"]);
    assert.equal(await bad.end(false), 0);
    assert.deepEqual(await readAll("read_committed", 1, 5), [], "good's open transaction holds the LSO at 0");
    assert.equal(await good.end(true), 0);
    await produce(c, "t", 0, batchOf(["plain"]));
    assert.deepEqual(await readAll("read_committed", 3), ["g1", "g2", "plain"]);
    assert.deepEqual(await readAll("read_uncommitted", 6), ["g1", "b1", "b2", "g2", "b3", "plain"]);
  } finally {
    for (const k of consumers) await k.close();
    c.close();
    await b.stop();
  }
});
