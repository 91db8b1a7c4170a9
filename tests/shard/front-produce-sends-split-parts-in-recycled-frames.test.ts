/**
 * A Produce naming partitions of both shards of a node is split at the front; each large part (64 KiB of records or
 * more) goes to its shard as a frame of its own in one of the front's frame buffers, moved to the shard's thread and
 * given back once the shard's handler is done, so later parts reuse it instead of fresh memory
 * (`FrontRouter.producePartsFramed`, `producePartBuffersFresh`). kafkajs batches per broker, so each of its sends
 * names every partition: every partition's answer carries its own offset, acks=0 parts (sent with acks=1) are stored
 * too, and kafkajs reads everything back intact and in order from both shards.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { RawClient } from "../support/raw-client.ts";
import { startFrontOverShards } from "./front-fixture.ts";
import { kafkajsOnFront, readBackEveryPartition } from "./support.ts";

const TOPIC = "split-parts";
const PARTITIONS = 4;
const ROUNDS = 6;
const VALUE_BYTES = 80 * 1024;

test("large parts of a Produce spanning shards go in recycled frame buffers, each partition answered at its offset", { timeout: 180_000 }, async () => {
  const node = await startFrontOverShards();
  const { producer, consumer, owners, disconnect } = await kafkajsOnFront(node, "split-parts", TOPIC, PARTITIONS);
  let raw: RawClient | null = null;
  try {
    const router = node.front.router;
    const expected: string[][] = Array.from({ length: PARTITIONS }, () => []);
    for (let round = 0; round < ROUNDS; round++) {
      const messages = Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, value: `${round}-${p}-`.padEnd(VALUE_BYTES, String.fromCharCode(97 + ((round + p) % 26))) }));
      const res = await producer.send({ topic: TOPIC, acks: -1, messages });
      assert.equal(res.length, PARTITIONS, "one answer per partition");
      for (const r of res) {
        assert.equal(r.errorCode, 0, `round ${round} partition ${r.partition}`);
        assert.equal(r.baseOffset, String(expected[r.partition].length), `round ${round} partition ${r.partition} at its offset`);
        expected[r.partition].push(messages[r.partition].value);
      }
    }
    assert.equal(router.producesForwarded, 0, "every send spanned both shards");
    assert.equal(router.producePartsFramed, 2 * ROUNDS, "each send's two parts went as frames of their own");
    assert.ok(router.producePartBuffersFresh < router.producePartsFramed, `buffers given back were reused (${router.producePartBuffersFresh} fresh of ${router.producePartsFramed})`);

    // acks=0 spanning both shards: no answer, each part sent on with acks=1 in a frame buffer, the records stored.
    raw = await RawClient.connect(node.port);
    await initCrc32c();
    const bb = new BatchBuilder(VALUE_BYTES + 4096);
    const partitionData = Array.from({ length: PARTITIONS }, (_, p) => {
      const value = `acks0-${p}-`.padEnd(VALUE_BYTES, "z");
      expected[p].push(value);
      bb.reset({});
      bb.append(Date.now(), null, new TextEncoder().encode(value));
      return { index: p, records: bb.finish().slice() };
    });
    void raw.sendRaw(raw.frame(0, 9, { transactionalId: null, acks: 0, timeoutMs: 30_000, topicData: [{ name: TOPIC, partitionData }] }), false);
    // An answered request after it on the same connection: the acks=0 one was handled before it.
    const after = await raw.request<any>(3, 12, { topics: [{ topicId: new Uint8Array(16), name: TOPIC }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(after.topics[0].errorCode, 0);
    assert.equal(router.producePartsFramed, 2 * ROUNDS + 2, "the acks=0 request's parts went as frames too");

    await readBackEveryPartition(consumer, TOPIC, expected, owners);
  } finally {
    raw?.close();
    await disconnect();
    await node.close();
  }
});
