/**
 * A transactional Produce v12 whose partition joins the transaction (KIP-890 part 2) while another add to the same
 * transaction is still being written at the coordinator (an AddPartitionsToTxn from another connection, or on a
 * sharded node the implicit add of a partition on another shard) is told to retry (NOT_ENOUGH_REPLICAS, as Kafka
 * answers a coordinator busy with CONCURRENT_TRANSACTIONS), never TRANSACTION_ABORTABLE: the partition was not
 * refused, its add only had to wait (found as the sharded failure of pipelined-transactional-produce-keeps-sequence-order).
 * The producer's next batch, joining once the coordinator is free, must not be appended ahead of the refused one
 * (OUT_OF_ORDER_SEQUENCE_NUMBER), even where the partition has not seen the producer yet (Kafka's verification
 * guard of KIP-890).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { batchOf } from "./raw-txn-client.ts";

/** Transactions in a row (each with a new transactional id), each racing an explicit add against a Produce's implicit add. */
const ROUNDS = 12;
const TOPIC = "add-race";
const TXN = "tx-add-race";
/** What a producer sends again after (the coordinator busy with the transaction). */
const RETRIABLE = new Set<number>([ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.CONCURRENT_TRANSACTIONS]);

test("a transactional Produce v12 arriving while another add to its transaction is written is told to retry, and the next batch cannot overtake it", async () => {
  const b = await startTestBroker();
  const adder = await RawClient.connect(b.port);
  const producer = await RawClient.connect(b.port);
  try {
    await adder.request(19, 7, { topics: [{ name: TOPIC, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    const retried = { add: 0, produce: 0, heldBack: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      // A new transactional id each round: its producer is new to partition 1, whose first sequence is otherwise taken as it comes.
      const tid = `${TXN}-${round}`;
      await adder.findCoordinator(tid, 1);
      const init = await adder.requestWhileCoordinatorLoads(22, 4, { transactionalId: tid, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }, (r) => r.errorCode);
      assert.equal(init.errorCode, 0);
      const { producerId, producerEpoch } = init;
      const add = () => adder.request(24, 3, { v3AndBelowTransactionalId: tid, v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: producerEpoch, v3AndBelowTopics: [{ name: TOPIC, partitions: [0] }] });
      const produce = async (seq: number): Promise<number> => {
        const r = await producer.request(0, 12, { transactionalId: tid, acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 1, records: batchOf([`record ${seq}`], producerId, producerEpoch, seq) }] }] });
        const pr = r.responses[0].partitionResponses[0];
        assert.ok(pr.errorCode === ErrorCode.NONE || RETRIABLE.has(pr.errorCode) || (seq > 0 && pr.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), `round ${round} sequence ${seq}: Produce answered ${pr.errorCode} (${pr.errorMessage})`);
        return pr.errorCode;
      };
      // Both sent at once on two connections: the Produce's implicit add meets the explicit one in flight, or follows it.
      const [added, first] = await Promise.all([add(), produce(0)]);
      let addCode: number = added.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode;
      while (addCode !== ErrorCode.NONE) {
        assert.equal(addCode, ErrorCode.CONCURRENT_TRANSACTIONS, `round ${round}: AddPartitionsToTxn answered ${addCode}`);
        retried.add++;
        addCode = (await add()).resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode;
      }
      if (first !== ErrorCode.NONE) {
        // The next batch, as a producer with several requests in flight sends it before hearing of the first, now
        // joins a transaction that is no longer busy: it must not be appended ahead of sequence 0.
        retried.produce++;
        const next = await produce(1);
        assert.notEqual(next, ErrorCode.NONE, `round ${round}: sequence 1 appended while sequence 0 was refused (${first})`);
        retried.heldBack++;
        while ((await produce(0)) !== ErrorCode.NONE) retried.produce++;
      }
      while ((await produce(1)) !== ErrorCode.NONE) retried.produce++;
      const d = await adder.request(65, 0, { transactionalIds: [tid] });
      assert.deepEqual(d.transactionStates[0].topics.map((t: { topic: string; partitions: number[] }) => [t.topic, [...t.partitions].sort()]), [[TOPIC, [0, 1]]], `round ${round}`);
      const end = await adder.request(26, 4, { transactionalId: tid, producerId, producerEpoch, committed: true });
      assert.equal(end.errorCode, 0, `round ${round}: EndTxn`);
    }
    // Every batch of partition 1 appended once (plus one commit marker per round).
    const lo = await producer.request(2, 7, { replicaId: -1, isolationLevel: 1, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 1, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    assert.equal(lo.topics[0].partitions[0].offset, BigInt(3 * ROUNDS), `retried: ${JSON.stringify(retried)}`);
    console.log(`retried: ${JSON.stringify(retried)}`);
  } finally {
    adder.close();
    producer.close();
    await b.stop();
  }
});
