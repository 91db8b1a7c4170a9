/**
 * A sharded node's front forwards a Produce whose partitions are all one shard's as the client's own frame, not
 * re-encoded; a large frame goes to the shard's thread in a buffer of its own (moved when nothing else is in it,
 * else copied into a buffer that came back) and its buffer comes back to the front's pool once the shard's handler
 * is done. The client gets the same answers (offsets, acks=1 and acks=all; acks=0 forwarded too, its acks rewritten to 1
 * in the frame so that a failed partition closes the client's connection, in every Produce version's encoding), the records read
 * back intact from both shards, and a Produce naming partitions of both shards is still split and merged.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { RawClient } from "../support/raw-client.ts";
import { waitFor } from "../support/group-state.ts";
import { PYTHON, havePythonModule, runProc } from "../support/proc.ts";
import { startFrontOverShards } from "./front-fixture.ts";
import { kafkajsOnFront, readBackEveryPartition } from "./support.ts";

const TOPIC = "forwarded";
const havePy = await havePythonModule("confluent_kafka");
/** Two records to each partition with acks=0 (argv: bootstrap, topic, partitions); the second one 80 KiB. */
const PY_ACKS0 = `
import sys
from confluent_kafka import Producer
bootstrap, topic, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])
p = Producer({"bootstrap.servers": bootstrap, "acks": 0, "linger.ms": 50, "compression.type": "none"})
for partition in range(partitions):
    p.produce(topic, f"acks0-py-{partition}-0".encode(), partition=partition)
    p.produce(topic, f"acks0-py-{partition}-1".ljust(80 * 1024, "p").encode(), partition=partition)
assert p.flush(60) == 0, "records left unsent"
`;
const PARTITIONS = 4;

test("a Produce for one shard reaches it as the client's frame, large frames in buffers of their own that come back, answers unchanged", { timeout: 180_000 }, async () => {
  const node = await startFrontOverShards();
  const { producer, consumer, owners, disconnect } = await kafkajsOnFront(node, "forward", TOPIC, PARTITIONS);
  let raw: RawClient | null = null;
  try {
    const router = node.front.router;
    const expected: string[][] = Array.from({ length: PARTITIONS }, () => []);
    let singleShardSends = 0;
    // One partition per request: small values, then 300 KiB ones (frames joined from several socket reads, which move
    // to the shard's thread and come back to the front's pool for the next round's).
    for (let round = 0; round < 4; round++) {
      for (let p = 0; p < PARTITIONS; p++) {
        const size = round === 0 ? 200 : 300 * 1024;
        const values = Array.from({ length: 2 }, (_, i) => `${p}-${round}-${i}-`.padEnd(size, String.fromCharCode(97 + ((p + round + i) % 26))));
        const res = await producer.send({ topic: TOPIC, acks: round === 2 ? 1 : -1, messages: values.map((value) => ({ partition: p, value })) });
        assert.equal(res.length, 1);
        assert.equal(res[0].errorCode, 0);
        assert.equal(res[0].partition, p);
        assert.equal(res[0].baseOffset, String(expected[p].length), `partition ${p} round ${round}`);
        expected[p].push(...values);
        singleShardSends++;
      }
    }
    assert.equal(router.producesForwarded, singleShardSends, "every single-shard Produce went on as the client's frame");
    assert.ok(router.produceFramesMoved >= 3 * PARTITIONS, `the 300 KiB frames went in buffers of their own (${router.produceFramesMoved})`);

    // A Produce naming partitions of both shards is split and merged (not counted as forwarded).
    const spanning = await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, value: `span-${p}` })) });
    assert.equal(spanning.length, PARTITIONS);
    for (const r of spanning) {
      assert.equal(r.errorCode, 0);
      assert.equal(r.baseOffset, String(expected[r.partition].length));
      expected[r.partition].push(`span-${r.partition}`);
    }
    assert.equal(router.producesForwarded, singleShardSends);

    // acks=0 for one shard is forwarded as the client's frame too, its acks rewritten to 1 in the frame (the shard
    // answers the front, the client gets nothing): kafkajs (v7, non-flexible), confluent-kafka (below), and frames by hand of the oldest
    // version (v3), the last non-flexible (v8), the first flexible (v9) and topic ids' (v13 is not sent: the
    // fixture's shards may not serve it) versions, with and without a client id of another length.
    const forwardedBefore = router.producesForwarded;
    let acks0Sends = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const values = [`acks0-kafkajs-${p}`, `acks0-kafkajs-${p}-`.padEnd(100 * 1024, "k")];
      await producer.send({ topic: TOPIC, acks: 0, messages: values.map((value) => ({ partition: p, value })) });
      expected[p].push(...values);
      acks0Sends++;
    }
    raw = await RawClient.connect(node.port);
    await initCrc32c();
    const bb = new BatchBuilder(1 << 16);
    for (const version of [3, 8, 9]) {
      bb.reset({});
      const vals = [`acks0-v${version}-a`, `acks0-v${version}-b`];
      for (const v of vals) bb.append(Date.now(), null, new TextEncoder().encode(v));
      const batch = bb.finish().slice();
      for (let p = 0; p < PARTITIONS; p++) {
        void raw.sendRaw(raw.frame(0, version, { transactionalId: null, acks: 0, timeoutMs: 30_000, topicData: [{ name: TOPIC, partitionData: [{ index: p, records: batch }] }] }), false);
        expected[p].push(...vals);
        acks0Sends++;
      }
    }
    // An answered request after them on the same connection: the acks=0 ones were handled before it.
    const after = await raw.request<any>(3, 12, { topics: [{ topicId: new Uint8Array(16), name: TOPIC }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(after.topics[0].errorCode, 0);
    await waitFor(async () => router.producesAcks0Forwarded === acks0Sends, 60_000, () => `acks=0 Produces forwarded as frames: ${router.producesAcks0Forwarded} of ${acks0Sends}`);
    assert.equal(router.producesForwarded, forwardedBefore + acks0Sends);

    // An acks=0 frame for a partition the shard does not have: the connection is closed (no answer to carry the error).
    const beforeFailing = router.producesAcks0Forwarded;
    bb.reset({});
    bb.append(Date.now(), null, new TextEncoder().encode("lost"));
    void raw.sendRaw(raw.frame(0, 8, { transactionalId: null, acks: 0, timeoutMs: 30_000, topicData: [{ name: "no-such-topic", partitionData: [{ index: 0, records: bb.finish().slice() }] }] }), false);
    await raw.closed;
    assert.equal(router.producesAcks0Forwarded, beforeFailing + 1, "the failing acks=0 Produce went as a frame too");

    // confluent-kafka (librdkafka: a Produce per partition) with acks=0: forwarded as frames, read back below.
    if (havePy) {
      const before = router.producesAcks0Forwarded;
      const py = await runProc(PYTHON, ["-c", PY_ACKS0, `127.0.0.1:${node.port}`, TOPIC, String(PARTITIONS)], { timeoutMs: 90_000 });
      assert.equal(py.code, 0, py.stderr);
      for (let p = 0; p < PARTITIONS; p++) expected[p].push(`acks0-py-${p}-0`, `acks0-py-${p}-1`.padEnd(80 * 1024, "p"));
      await waitFor(async () => router.producesAcks0Forwarded > before, 60_000, "confluent-kafka's acks=0 Produces forwarded as frames");
    }

    await readBackEveryPartition(consumer, TOPIC, expected, owners);
  } finally {
    raw?.close();
    await disconnect();
    await node.close();
  }
});
