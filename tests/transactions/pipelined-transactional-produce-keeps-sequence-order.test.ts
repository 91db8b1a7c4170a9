/**
 * Produce requests pipelined on one connection append in the order they arrived, even when the first ones wait for
 * their partitions to join the transaction (KIP-890: the implicit add of Produce v12, or the verification at a
 * coordinator on another shard or broker). Kafka reads a connection's next request only after answering the
 * previous one; a broker that reads ahead must not let a later request's batch overtake an earlier one, or the
 * producer gets OUT_OF_ORDER_SEQUENCE_NUMBER for records it sent in order (found with Kafka's ProducerPerformance
 * against a sharded node).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();

/** Requests sent back to back per round, as a producer with max.in.flight.requests.per.connection=5 does. */
const IN_FLIGHT = 5;
/** Transactions in a row (each starts with its partitions outside the transaction again). */
const ROUNDS = 4;
const PARTITIONS = 4;

function txnBatch(producerId: bigint, producerEpoch: number, baseSequence: number): Uint8Array {
  const bb = new BatchBuilder(4096);
  bb.reset({ producerId, producerEpoch, baseSequence, isTransactional: true });
  bb.append(Date.now(), null, new TextEncoder().encode(`record ${baseSequence}`));
  return bb.finish();
}

test("pipelined transactional Produce v12 requests append in arrival order while their partitions join the transaction", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    await c.request(19, 7, { topics: [{ name: "pipelined", numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    await c.findCoordinator("tx-pipelined", 1);
    const init = await c.requestWhileCoordinatorLoads(22, 4, { transactionalId: "tx-pipelined", transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }, (r) => r.errorCode);
    assert.equal(init.errorCode, 0);
    /** Retriable answers a producer sends the batch again for (the coordinator still busy with the transaction). */
    const RETRIABLE = new Set<number>([ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.CONCURRENT_TRANSACTIONS]);
    const produce = (partitions: number[], seq: number) =>
      c.request(0, 12, { transactionalId: "tx-pipelined", acks: -1, timeoutMs: 5000, topicData: [{ name: "pipelined", partitionData: partitions.map((index) => ({ index, records: txnBatch(init.producerId, init.producerEpoch, seq) })) }] });
    const all = Array.from({ length: PARTITIONS }, (_, i) => i);
    let seq = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const first = seq;
      const sent: Promise<any>[] = [];
      for (let i = 0; i < IN_FLIGHT; i++) sent.push(produce(all, seq + i));
      const answers = await Promise.all(sent);
      for (const p of all) {
        // Per partition, in sending order: appended ones, then (only after a retriable failure) refused ones. A batch
        // appended after an earlier one failed, or OUT_OF_ORDER_SEQUENCE_NUMBER with every earlier one appended,
        // means a later request overtook an earlier one.
        const codes = answers.map((r) => r.responses[0].partitionResponses.find((x: { index: number }) => x.index === p).errorCode as number);
        const failedAt = codes.findIndex((code) => code !== ErrorCode.NONE);
        if (failedAt < 0) continue;
        assert.ok(RETRIABLE.has(codes[failedAt]), `round ${round} partition ${p}: ${codes} (first refusal must be retriable)`);
        for (const code of codes.slice(failedAt + 1)) assert.ok(code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || RETRIABLE.has(code), `round ${round} partition ${p}: ${codes}`);
        // As a producer does: send the refused batches again, in order, until each is appended.
        for (let i = failedAt; i < IN_FLIGHT; i++) {
          for (;;) {
            const code = (await produce([p], first + i)).responses[0].partitionResponses[0].errorCode;
            if (code === ErrorCode.NONE) break;
            assert.ok(RETRIABLE.has(code), `round ${round} partition ${p}: resent batch ${first + i} got ${code}`);
            await new Promise((r) => setTimeout(r, 10));
          }
        }
      }
      seq += IN_FLIGHT;
      const end = await c.request(26, 4, { transactionalId: "tx-pipelined", producerId: init.producerId, producerEpoch: init.producerEpoch, committed: true });
      assert.equal(end.errorCode, 0);
    }
    // Every batch is in each partition once, in sequence order.
    for (const p of all) {
      const lo = await c.request(2, 7, { replicaId: -1, isolationLevel: 1, topics: [{ name: "pipelined", partitions: [{ partitionIndex: p, currentLeaderEpoch: -1, timestamp: -1n }] }] });
      assert.ok(lo.topics[0].partitions[0].offset >= BigInt(ROUNDS * IN_FLIGHT), `partition ${p}: ${lo.topics[0].partitions[0].offset} records and markers`);
    }
  } finally {
    c.close();
    await b.stop();
  }
});
