/**
 * Every version of the transaction APIs against a real broker over raw requests: ApiVersions ranges, InitProducerId 0-5, AddPartitionsToTxn 0-3 and the batched 4-5 with verifyOnly,
 * AddOffsetsToTxn 0-4, TxnOffsetCommit 0-5 (v5 adds the offsets partition itself), EndTxn 0-5 (v5 bumps the epoch),
 * DescribeTransactions 0, ListTransactions 0-2, WriteTxnMarkers 1-2 (what a coordinator sends to partition leaders
 * in a cluster: the marker ends the transaction there); PRODUCER_FENCED only for versions that know it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { batchOf } from "./raw-txn-client.ts";
import { describeTransaction, readCommittedView } from "../support/group-state.ts";

const OVERRIDES = { "transaction.state.log.num.partitions": "2" };

test("ApiVersions advertises the transaction APIs and every version answers", async () => {
  const b = await startTestBroker(OVERRIDES);
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("t", 2, 1, {}, false);
    const av = await c.request(18, 3, { clientSoftwareName: "raw", clientSoftwareVersion: "1" });
    const range = (k: number) => {
      const e = av.apiKeys.find((x: { apiKey: number }) => x.apiKey === k);
      return e === undefined ? null : [e.minVersion, e.maxVersion];
    };
    assert.deepEqual([22, 24, 25, 26, 27, 28, 65, 66].map(range), [[0, 5], [0, 5], [0, 4], [0, 5], [1, 2], [0, 5], [0, 0], [0, 2]]);

    const init = async (id: string, v = 4) => {
      await c.findCoordinator(id, 1);
      const r = await c.requestWhileCoordinatorLoads(22, v, { transactionalId: id, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }, (x) => x.errorCode);
      assert.equal(r.errorCode, 0, `InitProducerId v${v}`);
      return { pid: r.producerId as bigint, epoch: r.producerEpoch as number };
    };
    for (let v = 0; v <= 5; v++) assert.equal((await init(`init-v${v}`, v)).epoch, 0);

    // AddPartitionsToTxn v0-3, then EndTxn v0-4 (classic: the epoch stays).
    for (let v = 0; v <= 4; v++) {
      const id = `tx-v${v}`;
      const p = await init(id);
      if (v <= 3) {
        const r = await c.request(24, v, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: p.pid, v3AndBelowProducerEpoch: p.epoch, v3AndBelowTopics: [{ name: "t", partitions: [0, 1] }] });
        assert.deepEqual(r.resultsByTopicV3AndBelow[0].resultsByPartition.map((x: { partitionErrorCode: number }) => x.partitionErrorCode), [0, 0], `AddPartitionsToTxn v${v}`);
        const stale = await c.request(24, v, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: p.pid, v3AndBelowProducerEpoch: p.epoch - 1, v3AndBelowTopics: [{ name: "t", partitions: [0] }] });
        assert.equal(stale.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, v >= 2 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH);
      } else {
        assert.equal((await c.request(25, 3, { transactionalId: id, producerId: p.pid, producerEpoch: p.epoch, groupId: "g" })).errorCode, 0);
      }
      const end = await c.request(26, v, { transactionalId: id, producerId: p.pid, producerEpoch: p.epoch, committed: true });
      assert.equal(end.errorCode, 0, `EndTxn v${v}`);
      const fenced = await c.request(26, v, { transactionalId: id, producerId: p.pid, producerEpoch: p.epoch + 3, committed: true });
      assert.equal(fenced.errorCode, v >= 2 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH);
      assert.equal((await describeTransaction(b.port, id)).state, "CompleteCommit");
    }

    // The batched v4/v5 form: two transactions in one request, and verifyOnly.
    for (const v of [4, 5]) {
      const a = await init(`batch-a-v${v}`);
      const bb = await init(`batch-b-v${v}`);
      const r = await c.request(24, v, {
        transactions: [
          { transactionalId: `batch-a-v${v}`, producerId: a.pid, producerEpoch: a.epoch, verifyOnly: false, topics: [{ name: "t", partitions: [0] }] },
          { transactionalId: `batch-b-v${v}`, producerId: bb.pid, producerEpoch: bb.epoch, verifyOnly: true, topics: [{ name: "t", partitions: [1] }] },
        ],
      });
      assert.equal(r.errorCode, 0);
      assert.deepEqual(
        r.resultsByTransaction.map((t: { transactionalId: string; topicResults: { resultsByPartition: { partitionErrorCode: number }[] }[] }) => [t.transactionalId, t.topicResults[0].resultsByPartition[0].partitionErrorCode]),
        [[`batch-a-v${v}`, 0], [`batch-b-v${v}`, ErrorCode.INVALID_TXN_STATE]],
      );
      const verify = await c.request(24, v, { transactions: [{ transactionalId: `batch-a-v${v}`, producerId: a.pid, producerEpoch: a.epoch, verifyOnly: true, topics: [{ name: "t", partitions: [0, 1] }] }] });
      assert.deepEqual(verify.resultsByTransaction[0].topicResults[0].resultsByPartition.map((x: { partitionErrorCode: number }) => x.partitionErrorCode), [0, ErrorCode.INVALID_TXN_STATE]);
    }

    // AddOffsetsToTxn v0-4 with TxnOffsetCommit v0-4 (verified), and TxnOffsetCommit v5 (adds the partition itself).
    for (let v = 0; v <= 5; v++) {
      const id = `offsets-v${v}`;
      const p = await init(id);
      if (v <= 4) assert.equal((await c.request(25, v, { transactionalId: id, producerId: p.pid, producerEpoch: p.epoch, groupId: `g${v}` })).errorCode, 0, `AddOffsetsToTxn v${v}`);
      await c.findCoordinator(`g${v}`, 0);
      const r = await c.request(28, v, {
        transactionalId: id,
        groupId: `g${v}`,
        producerId: p.pid,
        producerEpoch: p.epoch,
        generationId: -1,
        memberId: "",
        groupInstanceId: null,
        topics: [{ name: "t", partitions: [{ partitionIndex: 1, committedOffset: BigInt(100 + v), committedLeaderEpoch: -1, committedMetadata: "m" }, { partitionIndex: 9, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }],
      });
      assert.deepEqual(r.topics[0].partitions.map((x: { errorCode: number }) => x.errorCode), [0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], `TxnOffsetCommit v${v}`);
      assert.equal((await c.request(26, 3, { transactionalId: id, producerId: p.pid, producerEpoch: p.epoch, committed: true })).errorCode, 0);
      const fetched = await c.requestWhileCoordinatorLoads(9, 7, { groupId: `g${v}`, topics: [{ name: "t", partitionIndexes: [1] }], requireStable: false }, (x) => x.errorCode);
      const got = fetched.topics[0].partitions[0];
      assert.deepEqual([got.committedOffset, got.metadata], [BigInt(100 + v), "m"]);
    }

    // EndTxn v5: transaction version 2 bumps the epoch at every end.
    const p = await init("tv2");
    await c.request(24, 3, { v3AndBelowTransactionalId: "tv2", v3AndBelowProducerId: p.pid, v3AndBelowProducerEpoch: p.epoch, v3AndBelowTopics: [{ name: "t", partitions: [0] }] });
    const e5 = await c.request(26, 5, { transactionalId: "tv2", producerId: p.pid, producerEpoch: p.epoch, committed: true });
    assert.deepEqual([e5.errorCode, e5.producerId, e5.producerEpoch], [0, p.pid, p.epoch + 1]);

    // DescribeTransactions v0 and ListTransactions v0-2.
    const d = await c.request(65, 0, { transactionalIds: ["tx-v0", "missing"] });
    assert.deepEqual(d.transactionStates.map((s: { transactionalId: string; errorCode: number; transactionState: string }) => [s.transactionalId, s.errorCode, s.transactionState]), [["tx-v0", 0, "CompleteCommit"], ["missing", ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, ""]]);
    for (let v = 0; v <= 2; v++) {
      const l = await c.request(66, v, { stateFilters: ["CompleteCommit", "Nope"], producerIdFilters: [], durationFilter: -1n, transactionalIdPattern: v >= 2 ? "tx-v[0-2]" : null });
      assert.equal(l.errorCode, 0);
      assert.deepEqual(l.unknownStateFilters, ["Nope"]);
      const ids = l.transactionStates.map((s: { transactionalId: string }) => s.transactionalId).sort();
      assert.deepEqual(ids, v >= 2 ? ["tx-v0", "tx-v1", "tx-v2"] : ["offsets-v0", "offsets-v1", "offsets-v2", "offsets-v3", "offsets-v4", "offsets-v5", "tv2", "tx-v0", "tx-v1", "tx-v2", "tx-v3", "tx-v4"]);
    }
    // WriteTxnMarkers v1-2: an ABORT marker written for an open transaction ends it in the partition (its producer
    // state no longer holds the last stable offset back); an unknown partition is UNKNOWN_TOPIC_OR_PARTITION.
    for (const v of [1, 2]) {
      const id = `markers-v${v}`;
      const m = await init(id);
      await c.request(24, 3, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: m.pid, v3AndBelowProducerEpoch: m.epoch, v3AndBelowTopics: [{ name: "t", partitions: [0] }] });
      const records = batchOf(["a", "b"], m.pid, m.epoch, 0);
      const produced = await c.request(0, 9, { transactionalId: id, acks: -1, timeoutMs: 10_000, topicData: [{ name: "t", partitionData: [{ index: 0, records }] }] });
      assert.equal(produced.responses[0].partitionResponses[0].errorCode, 0);
      const held = await readCommittedView(b.port, "t", 0);
      assert.ok(held.lastStableOffset < held.highWatermark, "the open transaction holds the last stable offset back");
      const marker = (coordinatorEpoch: number, partitionIndexes: number[]) => c.request(27, v, { markers: [{ producerId: m.pid, producerEpoch: m.epoch, transactionResult: false, coordinatorEpoch, transactionVersion: 0, topics: [{ name: "t", partitionIndexes }] }] });
      const codes = (w: { markers: { topics: { partitions: { partitionIndex: number; errorCode: number }[] }[] }[] }) => w.markers[0].topics[0].partitions.map((x) => [x.partitionIndex, x.errorCode]);
      assert.deepEqual(codes(await marker(5, [0, 7])), [[0, 0], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]], `WriteTxnMarkers v${v}`);
      const ended = await readCommittedView(b.port, "t", 0);
      assert.equal(ended.lastStableOffset, ended.highWatermark, "the marker ended the transaction in the partition");
      // a coordinator with an older epoch than the one that wrote that marker is fenced
      assert.deepEqual(codes(await marker(4, [0])), [[0, ErrorCode.TRANSACTION_COORDINATOR_FENCED]]);
    }

    const bad = await c.request(66, 2, { stateFilters: [], producerIdFilters: [], durationFilter: -1n, transactionalIdPattern: "([" });
    assert.equal(bad.errorCode, 128, "INVALID_REGULAR_EXPRESSION");
  } finally {
    c.close();
    await b.stop();
  }
});
