/**
 * A sharded node's front reads a client's socket in large pieces, so several Produce frames can share one read (one
 * ArrayBuffer). When every frame cut from such a read goes to a shard in a message of its own (each a Produce for
 * one shard), the front copies all but the last one out and moves the read's buffer to its shard with the last
 * instead of copying that one too (`FrontRouter.produceReadsMoved`). A raw client writes, in one socket write, two
 * frames for one shard, one for the other and the head of a fourth whose tail follows in a later write; every answer
 * carries its partition's next offset, and kafkajs reads back every record intact and in order from both shards.
 * This is the path of `runnel.shards.frame.slots=false`; with frame slots (the default) no buffer moves.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { PORT_CONNECTION_OWN_FRAME_MIN_BYTES } from "../../src/platform/port-connection.ts";
import { Reader } from "../../src/protocol/wire.ts";
import { API_CODECS, responseHeaderVersion } from "../../src/protocol/generated/index.ts";
import { readResponseHeader } from "../../src/protocol/generated/headers.ts";
import type { ProduceResponse } from "../../src/protocol/generated/00_produce.ts";
import { RawClient } from "../support/raw-client.ts";
import { startFrontOverShards } from "./front-fixture.ts";
import { readBackEveryPartition } from "./support.ts";

const TOPIC = "shared-reads";
const PARTITIONS = 4;
const ROUNDS = 8;
const VALUE_BYTES = 100 * 1024;

test("frames sharing a socket read reach their shards intact and in order, the read moving with the last of them", { timeout: 180_000 }, async () => {
  await initCrc32c();
  // Frames in buffers that move (runnel.shards.frame.slots=false); with slots every frame is copied into one.
  const node = await startFrontOverShards({ extra: { "runnel.shards.frame.slots": "false" } });
  const kafka = new Kafka({ clientId: "shared-reads", brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const consumer = kafka.consumer({ groupId: "shared-reads-check" });
  let raw: RawClient | null = null;
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
    const owners = Array.from({ length: PARTITIONS }, (_, p) => node.ownerOf(TOPIC, p));
    const onShard = (s: number) => owners.flatMap((o, p) => (o === s ? [p] : []));
    const [zero, one] = [onShard(0), onShard(1)];
    assert.ok(zero.length >= 1 && one.length >= 1, `partitions on both shards: ${owners}`);
    // Per round: two frames for one shard, one for the other, then one whose tail comes in a later write.
    const plan = [zero[0], zero[zero.length - 1], one[0], one[one.length - 1]];
    raw = await RawClient.connect(node.port);
    const bb = new BatchBuilder(VALUE_BYTES + 4096);
    const expected: string[][] = Array.from({ length: PARTITIONS }, () => []);
    const router = node.front.router;
    for (let round = 0; round < ROUNDS; round++) {
      const offsets: number[] = [];
      const frames = plan.map((p, i) => {
        const value = `${round}-${i}-${p}-`.padEnd(VALUE_BYTES, String.fromCharCode(97 + ((round + i + p) % 26)));
        offsets.push(expected[p].length);
        expected[p].push(value);
        bb.reset({});
        bb.append(Date.now(), null, new TextEncoder().encode(value));
        const frame = raw!.frame(0, 9, { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: TOPIC, partitionData: [{ index: p, records: bb.finish().slice() }] }] });
        assert.ok(frame.length > PORT_CONNECTION_OWN_FRAME_MIN_BYTES + 4, "each frame goes in a message of its own");
        return frame;
      });
      const last = frames[frames.length - 1];
      const cut = last.length >> 1;
      // One write: the first three frames and the head of the fourth; its tail alone, once the others are answered.
      const answers = [raw.sendRaw(Buffer.concat([...frames.slice(0, -1), last.subarray(0, cut)]))];
      for (let i = 1; i < frames.length - 1; i++) answers.push(raw.sendRaw(new Uint8Array(0)));
      const firsts = await Promise.all(answers);
      answers.push(raw.sendRaw(last.subarray(cut)));
      const all = [...firsts, await answers[answers.length - 1]];
      all.forEach((body, i) => {
        assert.ok(body !== null, `round ${round}: frame ${i} answered`);
        const res = decodeProduce(body!);
        assert.equal(res.partition, plan[i]);
        assert.equal(res.errorCode, 0, `round ${round}: frame ${i} (partition ${plan[i]})`);
        assert.equal(res.baseOffset, offsets[i], `round ${round}: frame ${i} (partition ${plan[i]}) at its offset`);
      });
    }
    assert.equal(router.producesForwarded, ROUNDS * plan.length, "every frame forwarded as the client's");
    assert.ok(router.produceReadsMoved >= 1, `a read holding several frames moved with the last of them (${router.produceReadsMoved} of ${ROUNDS} rounds)`);

    await readBackEveryPartition(consumer, TOPIC, expected, owners);
  } finally {
    raw?.close();
    await consumer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    await node.close();
  }
});

/** The one partition answer of a Produce v9 response frame. */
function decodeProduce(body: Uint8Array): { partition: number; errorCode: number; baseOffset: number } {
  const r = new Reader(body);
  readResponseHeader(r, responseHeaderVersion(0, 9));
  const res = API_CODECS[0]!.readResponse(r, 9) as ProduceResponse;
  assert.equal(res.responses.length, 1);
  assert.equal(res.responses[0].partitionResponses.length, 1);
  const p = res.responses[0].partitionResponses[0];
  return { partition: p.index, errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
}
