/**
 * A Produce spanning shards whose first transactional batch comes before a partition with a corrupt batch header
 * (owned by another shard) fails only that partition, as Kafka 4.4 does: Kafka's first look at the request
 * (RequestUtils.hasTransactionalRecords) reads the first batch of each partition in request order and stops at the
 * first transactional one, so a corrupt header after it is not a whole-request error; the partition's own check
 * answers CORRUPT_MESSAGE and the other partitions are written. The front made that look over the whole request;
 * the shard given the part that starts with the corrupt partition must not make it again over its part alone
 * (it failed the part's other partitions with CORRUPT_MESSAGE).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { MAGIC_OFFSET } from "../../src/protocol/batch-layout.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { RawClient } from "../support/raw-client.ts";
import { shardOf } from "../../src/shard/placement.ts";
import { startFrontOverShards } from "./front-fixture.ts";
import { acceptSkip, withAcceptingNode } from "./support.ts";

await initCrc32c();

/** Client connections of the second test, each with its own topic and transaction. */
const CONNECTIONS = 12;


function batch(value: string, producer: { producerId: bigint; producerEpoch: number } | null = null): Uint8Array {
  const bb = new BatchBuilder(1 << 12);
  bb.reset(producer === null ? {} : { ...producer, baseSequence: 0, isTransactional: true });
  bb.append(1_700_000_000_000, null, new TextEncoder().encode(value));
  return bb.finish().slice();
}

/** Where the partitions of the request go: the transactional one, the corrupt one, then plain ones. */
interface Layout {
  txn: number;
  corrupt: number;
  plain: number[];
}

/**
 * Partitions of a 4-partition `topic` on a 2-shard node alternate between the shards (shardOf): the transactional
 * one on one shard; the corrupt one first among the other shard's, then a plain one there and one beside the
 * transactional partition.
 */
function layoutOf(topic: string): Layout {
  const owner = (p: number) => shardOf(topic, p, 2);
  const other = [1, 2, 3].filter((p) => owner(p) !== owner(0));
  const same = [1, 2, 3].filter((p) => owner(p) === owner(0));
  return { txn: 0, corrupt: other[0], plain: [other[1], ...same] };
}

/**
 * Creates `topic` (4 partitions), adds the layout's transactional partition to a transaction, sends the one Produce
 * and answers each partition's error code and high watermark after it.
 */
async function produceThenRead(c: RawClient, topic: string, { txn: txnPartition, corrupt: corruptPartition, plain: plainPartitions }: Layout): Promise<{ codes: Record<number, number>; highWatermarks: Record<number, bigint> }> {
  const TXN_ID = `${topic}-tx`;
  const TOPIC = topic;
  const created = await c.request(19, 7, { topics: [{ name: TOPIC, numPartitions: 4, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false });
  assert.equal(created.topics[0].errorCode, 0);
  await c.findCoordinator(TXN_ID, 1);
  const init = await c.requestWhileCoordinatorLoads(22, 4, { transactionalId: TXN_ID, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }, (r: any) => r.errorCode);
  const producer = { producerId: init.producerId as bigint, producerEpoch: init.producerEpoch as number };
  const add = await c.request(24, 3, { v3AndBelowTransactionalId: TXN_ID, v3AndBelowProducerId: producer.producerId, v3AndBelowProducerEpoch: producer.producerEpoch, v3AndBelowTopics: [{ name: TOPIC, partitions: [txnPartition] }] });
  assert.equal(add.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, 0);
  const corrupt = batch("corrupt");
  corrupt[MAGIC_OFFSET] = 3; // an impossible magic: Kafka's batch iterator calls the header corrupt
  const partitionData = [
    { index: txnPartition, records: batch("in the transaction", producer) },
    { index: corruptPartition, records: corrupt },
    ...plainPartitions.map((index) => ({ index, records: batch(`plain ${index}`) })),
  ];
  const r = await c.request(0, 9, { transactionalId: TXN_ID, acks: -1, timeoutMs: 10_000, topicData: [{ name: TOPIC, partitionData }] });
  const codes: Record<number, number> = {};
  for (const p of r.responses[0].partitionResponses) codes[p.index] = p.errorCode;
  const all = partitionData.map((p) => p.index);
  const lo = await c.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: TOPIC, partitions: all.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1n })) }] });
  const highWatermarks: Record<number, bigint> = {};
  for (const p of lo.topics[0].partitions) highWatermarks[p.partitionIndex] = p.offset;
  return { codes, highWatermarks };
}

/** What Kafka answers: only the corrupt partition fails; the others are written. */
function assertKafkasAnswer(got: Awaited<ReturnType<typeof produceThenRead>>, { txn, corrupt, plain }: Layout, what: string): void {
  const each = (ok: number | bigint, bad: number | bigint) => ({ [txn]: ok, [corrupt]: bad, ...Object.fromEntries(plain.map((p) => [p, ok])) });
  assert.deepEqual(got.codes, each(ErrorCode.NONE, ErrorCode.CORRUPT_MESSAGE), `${what}: only the corrupt partition fails`);
  assert.deepEqual(got.highWatermarks, each(1n, 0n), `${what}: the other partitions are written`);
}

test("sharded node: a corrupt batch header after another shard's transactional partition fails only its partition, as Kafka", { timeout: 120_000 }, async () => {
  const topic = "corrupt-after-txn";
  const layout = layoutOf(topic);
  const node = await startFrontOverShards();
  const c = await RawClient.connect(node.port);
  try {
    const got = await produceThenRead(c, topic, layout);
    assert.notEqual(node.ownerOf(topic, layout.txn), node.ownerOf(topic, layout.corrupt), "the transactional and the corrupt partitions are on different shards");
    assert.equal(node.ownerOf(topic, layout.corrupt), node.ownerOf(topic, layout.plain[0]), "a plain partition comes after the corrupt one on its shard");
    assertKafkasAnswer(got, layout, "front on the main thread");
  } finally {
    c.close();
    await node.close();
  }
});

test("sharded node: the shard threads' own fronts answer it as Kafka too (their own shard reached inside the thread)", { skip: acceptSkip, timeout: 120_000 }, async () => {
  // the kernel spreads connections over the main thread and both shard threads: 12 make all on the main thread unlikely (3^-12)
  await withAcceptingNode({ "offsets.topic.num.partitions": "4", "transaction.state.log.num.partitions": "4" }, CONNECTIONS, async (clients) => {
    await Promise.all(clients.map(async (c, i) => {
      const topic = `corrupt-after-txn-${i}`;
      const layout = layoutOf(topic);
      assertKafkasAnswer(await produceThenRead(c, topic, layout), layout, `connection ${i}`);
    }));
  });
});
