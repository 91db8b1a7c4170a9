/**
 * A broker that does not lead a partition answers an idempotent Produce NOT_LEADER_OR_FOLLOWER whatever its
 * sequence, as Kafka's Partition.appendRecordsToLeader checks leadership before the producer state: never
 * OUT_OF_ORDER_SEQUENCE_NUMBER, never a duplicate's success from the follower's copy of the producer state.
 *
 * Why it matters (the rolling restart's "615 then 615"): an old leader whose leadership moved while a producer had
 * batches in flight refused batch n with NOT_LEADER_OR_FOLLOWER, then judged batch n+1 by its sequence first and
 * answered OUT_OF_ORDER_SEQUENCE_NUMBER. librdkafka took that for sequences the broker skipped, bumped its epoch and
 * sent again, under new sequences, the batches before n, which the old leader had written and replicated: they were
 * in the log twice. A follower is in that old leader's state, so the test produces to the followers.
 *
 * Three `runnel start` processes (sharded under RUNNEL_TEST_SHARDS), an RF=3 partition; five records with sequences
 * 0-4 are acknowledged by the leader with acks=all, so both followers hold them and their producer state knows them.
 * Each follower is sent the same batch again (acks=1) and a batch that skips sequences.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { createReplicatedPartition, startCluster } from "../support/cluster-processes.ts";
import { RawClient } from "../support/raw-client.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ErrorCode, errorName } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();

const TOPIC = "seq-at-follower";

test("an idempotent Produce at a follower answers NOT_LEADER_OR_FOLLOWER for a batch it holds and for one that skips sequences", { skip: ETCD_SKIP_REASON, timeout: 180_000 }, async () => {
  const cluster = await startCluster();
  const clients: RawClient[] = [];
  try {
    const leader = await createReplicatedPartition(cluster, TOPIC);
    const connect = async (id: number) => {
      const c = await RawClient.connect(cluster.brokers[id - 1].port);
      c.timeoutMs = 30_000;
      clients.push(c);
      return c;
    };
    const atLeader = await connect(leader);
    const init = await atLeader.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    assert.equal(init.errorCode, ErrorCode.NONE, errorName(init.errorCode));
    const batch = (baseSequence: number, count: number) => {
      const bb = new BatchBuilder(4096);
      bb.reset({ producerId: init.producerId, producerEpoch: init.producerEpoch, baseSequence });
      for (let i = 0; i < count; i++) bb.append(Date.now(), null, new TextEncoder().encode(`v${baseSequence + i}`));
      return bb.finish();
    };
    const produce = async (c: RawClient, records: Uint8Array, acks: number) => {
      const r = await c.request(0, 9, { transactionalId: null, acks, timeoutMs: 30_000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] });
      return r.responses[0].partitionResponses[0] as { errorCode: number; baseOffset: bigint };
    };

    const first = batch(0, 5);
    const acked = await produce(atLeader, first, -1); // acks=all: both followers hold it, and their producer state knows it
    assert.equal(acked.errorCode, ErrorCode.NONE, errorName(acked.errorCode));
    assert.equal(acked.baseOffset, 0n);

    for (const id of [1, 2, 3].filter((id) => id !== leader)) {
      const atFollower = await connect(id);
      const retried = await produce(atFollower, first, 1);
      assert.equal(errorName(retried.errorCode), errorName(ErrorCode.NOT_LEADER_OR_FOLLOWER), `broker ${id} (a follower) answered a retry of the batch it holds`);
      const skipping = await produce(atFollower, batch(7, 1), 1);
      assert.equal(errorName(skipping.errorCode), errorName(ErrorCode.NOT_LEADER_OR_FOLLOWER), `broker ${id} (a follower) answered a batch that skips sequences 5 and 6`);
    }

    // the leader still takes the retry as the duplicate it is, and the producer's next batch
    const again = await produce(atLeader, first, -1);
    assert.equal(again.errorCode, ErrorCode.NONE, errorName(again.errorCode));
    assert.equal(again.baseOffset, 0n, "the retry at the leader gets the first copy's offset");
    const next = await produce(atLeader, batch(5, 1), -1);
    assert.equal(next.errorCode, ErrorCode.NONE, errorName(next.errorCode));
    assert.equal(next.baseOffset, 5n);
  } finally {
    for (const c of clients) c.close();
    await cluster.close();
  }
});
