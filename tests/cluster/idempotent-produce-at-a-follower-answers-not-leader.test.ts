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
 * Three `runnel start` processes (sharded under RUNNEL_TEST_SHARDS), an RF=3 partition; six batches of two records
 * (sequences 0-11) are acknowledged by the leader with acks=all, so both followers hold them and their producer state
 * (built from the replicated batches) knows them. Each follower is sent the last batch again (acks=1) and a batch
 * that skips sequences: NOT_LEADER_OR_FOLLOWER. Then the leader gets SIGTERM (its controlled shutdown moves the
 * leadership to a follower), and the new leader answers a retry of each of the last five batches with the batch's
 * first offset (Kafka's DUPLICATE_SEQUENCE semantics, from the state it built as a follower), the sixth from the end
 * OUT_OF_ORDER_SEQUENCE_NUMBER (past the five Kafka remembers), and appends the producer's next batch after them.
 * Then the old leader restarts (producer state from its clean shutdown's snapshot, then from batches replicated to
 * it), catches up, and leads once the other two get SIGTERM: it answers retries of the snapshot's batch and of the
 * replicated ones with their offsets.
 * A 3-node Apache Kafka 4.4 KRaft cluster (tests/support/kafka-cluster.ts) gave the same answers to the same requests
 * on 2026-12-06, acks=all at the followers included (checked by hand, not kept as an oracle test: three JVMs cost
 * over a minute).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { createReplicatedPartition, metadataOf, startCluster, until } from "../support/cluster-processes.ts";
import { RawClient } from "../support/raw-client.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ErrorCode, errorName } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();

const TOPIC = "seq-at-follower";

test("an idempotent Produce at a follower answers NOT_LEADER_OR_FOLLOWER for a batch it holds and for one that skips sequences; the follower made leader, and the old leader restarted and leading again, answer retries with their offsets", { skip: ETCD_SKIP_REASON, timeout: 180_000 }, async () => {
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

    const batches = Array.from({ length: 6 }, (_, i) => batch(2 * i, 2));
    for (const [i, records] of batches.entries()) {
      const acked = await produce(atLeader, records, -1); // acks=all: both followers hold it
      assert.equal(acked.errorCode, ErrorCode.NONE, errorName(acked.errorCode));
      assert.equal(acked.baseOffset, BigInt(2 * i));
    }
    const last = batches[5];

    const followers = [1, 2, 3].filter((id) => id !== leader);
    for (const id of followers) {
      const atFollower = await connect(id);
      const retried = await produce(atFollower, last, 1);
      assert.equal(errorName(retried.errorCode), errorName(ErrorCode.NOT_LEADER_OR_FOLLOWER), `broker ${id} (a follower) answered a retry of a batch it holds`);
      const skipping = await produce(atFollower, batch(14, 1), 1);
      assert.equal(errorName(skipping.errorCode), errorName(ErrorCode.NOT_LEADER_OR_FOLLOWER), `broker ${id} (a follower) answered a batch that skips sequences 12 and 13`);
    }

    // The leadership moves to a follower; its producer state, built from replicated batches, answers the retries.
    assert.equal(await cluster.brokers[leader - 1].stop("SIGTERM"), 0);
    let next = -1;
    await until("a follower to lead the partition", 60_000, async () => {
      const md = await metadataOf(cluster.brokers[followers[0] - 1].port);
      next = md.topics.find((t) => t.name === TOPIC)?.partitions[0]?.leaderId ?? -1;
      return followers.includes(next);
    });
    const atNewLeader = await connect(next);
    for (let i = 1; i < 6; i++) {
      const again = await produce(atNewLeader, batches[i], -1);
      assert.equal(again.errorCode, ErrorCode.NONE, `retry of batch ${i} at the new leader ${next}: ${errorName(again.errorCode)}`);
      assert.equal(again.baseOffset, BigInt(2 * i), `retry of batch ${i} at the new leader gets the first copy's offset`);
    }
    const tooOld = await produce(atNewLeader, batches[0], -1);
    assert.equal(errorName(tooOld.errorCode), errorName(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), "a batch older than the last five");
    const seq12 = batch(12, 1);
    const after = await produce(atNewLeader, seq12, -1);
    assert.equal(after.errorCode, ErrorCode.NONE, errorName(after.errorCode));
    assert.equal(after.baseOffset, 12n, "the producer's next batch goes after the retried ones, each stored once");

    // The old leader restarts (its producer state: the clean shutdown's snapshot, then replicated batches) and,
    // caught up, leads again once the others stop: it answers retries from both.
    await cluster.restart(leader, { samePort: true });
    const partitionAt = async (id: number) => (await metadataOf(cluster.brokers[id - 1].port)).topics.find((t) => t.name === TOPIC)?.partitions[0];
    await until("the restarted broker back in the ISR", 60_000, async () => (await partitionAt(next))?.isrNodes.length === 3);
    const seq13 = batch(13, 1);
    const more = await produce(atNewLeader, seq13, -1);
    assert.equal(more.errorCode, ErrorCode.NONE, errorName(more.errorCode));
    assert.equal(more.baseOffset, 13n);
    for (const id of [next, ...followers.filter((f) => f !== next)]) assert.equal(await cluster.brokers[id - 1].stop("SIGTERM"), 0, `broker ${id} exit code`);
    await until("the restarted broker to lead again", 60_000, async () => (await partitionAt(leader))?.leaderId === leader);
    const atRestarted = await connect(leader);
    for (const [records, offset] of [[batches[5], 10n], [seq12, 12n], [seq13, 13n]] as const) {
      const again = await produce(atRestarted, records, 1); // acks=1: the ISR is the restarted broker alone now
      assert.equal(again.errorCode, ErrorCode.NONE, `retry at the restarted leader: ${errorName(again.errorCode)}`);
      assert.equal(again.baseOffset, offset, "a retry at the restarted leader gets the first copy's offset");
    }
    const last14 = await produce(atRestarted, batch(14, 1), 1);
    assert.equal(last14.errorCode, ErrorCode.NONE, errorName(last14.errorCode));
    assert.equal(last14.baseOffset, 14n);
  } finally {
    for (const c of clients) c.close();
    await cluster.close();
  }
});
