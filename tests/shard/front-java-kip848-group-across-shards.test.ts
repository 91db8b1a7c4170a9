/**
 * Kafka 4's consumer group protocol (KIP-848, `group.protocol=consumer`) through the front: two Java KafkaConsumers
 * of one group, coordinated by the shard leading the group's `__consumer_offsets` partition, share a topic whose
 * partitions live on both shards, read every record once and commit; when one leaves, the other gets every partition.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { javaSkip, spawnJava } from "../support/java.ts";
import type { PeerProcess } from "../support/json-process.ts";
import { offsetsPartitionFor } from "../../src/group/group-partitioning.ts";
import { startFrontOverShards } from "./front-fixture.ts";

const TOPIC = "k848";

/** Resolves when `cond` holds (polled every 100 ms); fails after 120 s saying `state()`. */
async function until(cond: () => boolean, state: () => string): Promise<void> {
  for (const deadline = Date.now() + 120_000; !cond(); ) {
    if (Date.now() > deadline) throw new Error(`timed out: ${state()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("two KIP-848 Java consumers over both shards; one leaves, the other takes everything", { skip: javaSkip ? `SKIPPED: ${javaSkip}` : false, timeout: 240_000 }, async () => {
  const node = await startFrontOverShards({ inThread: true, extra: { "group.consumer.min.heartbeat.interval.ms": "500", "group.consumer.heartbeat.interval.ms": "500" } });
  const members: PeerProcess[] = [];
  try {
    const kafka = new Kafka({ clientId: "k848", brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 4 }], waitForLeaders: true });
    await admin.disconnect();
    const owners = [0, 1, 2, 3].map((p) => node.ownerOf(TOPIC, p));
    assert.deepEqual([...new Set(owners)].sort(), [0, 1]);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 4 })) });
    await producer.disconnect();

    const start = () => spawnJava("runnel.GroupMember", ["--bootstrap", node.bootstrap, "--group", "g848", "--topics", TOPIC, "--protocol", "consumer"]);
    members.push(start(), start());
    const assigned = (m: PeerProcess) => {
      const held = new Set<string>();
      for (const e of m.events) {
        if (e.event === "assigned") for (const p of e.partitions as string[]) held.add(p);
        if (e.event === "revoked" || e.event === "lost") for (const p of e.partitions as string[]) held.delete(p);
      }
      return [...held];
    };
    const read = () => new Set(members.flatMap((m) => m.events.filter((e) => e.event === "records").flatMap((e) => (e.records as unknown[][]).map((r) => String(r[4])))));
    await Promise.all(members.map((m) => m.waitFor(() => assigned(m).length > 0, 120_000, "a partition assigned")));
    await until(() => read().size === 40 && assigned(members[0]).length + assigned(members[1]).length === 4, () => `read ${read().size}, assigned ${assigned(members[0])} / ${assigned(members[1])}`);
    assert.equal(read().size, 40);
    const coordinator = node.ownerOf("__consumer_offsets", offsetsPartitionFor("g848", node.partitionsOf("__consumer_offsets")));
    assert.ok(owners.some((o) => o !== coordinator), "some partitions live on the shard that does not coordinate the group");

    members[1].send("close");
    await members[1].exited;
    await members[0].waitFor(() => assigned(members[0]).length === 4, 120_000, "the remaining member to hold every partition");
    assert.deepEqual(assigned(members[0]).sort(), [0, 1, 2, 3].map((p) => `${TOPIC}-${p}`));
  } finally {
    for (const m of members) await m.kill();
    await node.close();
  }
});
