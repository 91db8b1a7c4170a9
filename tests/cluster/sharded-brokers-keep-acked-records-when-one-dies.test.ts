/**
 * A cluster of sharded brokers (docs/sharding.md, "A sharded broker of an etcd cluster"): three `runnel start`
 * processes on one etcd, each with 2 shards. A topic of 4 partitions with replication factor 3 and
 * min.insync.replicas=2 gets every replica in sync (followers on both shards of each node fetch from leaders on both
 * shards of the other nodes, through their fronts). An idempotent confluent-kafka producer sends with acks=all to
 * partition 0 while its leader is killed with SIGKILL; the controller elects another leader, the producer goes on,
 * and a kafkajs consumer reading from another broker finds every acknowledged record at the offset it was
 * acknowledged with. In the Deno pass of tests/run.ts broker 3 runs under Deno (its shards in Deno's workers), so a
 * Deno node leads and follows replicas of Bun nodes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { createInSyncTopic, printBrokerLogs, startCluster, TEST_RUNTIME, until } from "../support/cluster-processes.ts";
import { PYTHON, havePythonModule } from "../support/proc.ts";
import { IdempotentProducer } from "../support/leader-kills.ts";

const TOPIC = "sharded-rf3";
const PARTITIONS = 4;
/** Records acknowledged before the kill, and after it. */
const ACKS_BEFORE = 300;
const ACKS_AFTER = 300;

const skip = ETCD_SKIP_REASON ?? ((await havePythonModule("confluent_kafka")) ? false : `SKIPPED: ${PYTHON} has no confluent_kafka (tests/setup.d/10-interop-peers.sh)`);

test("3 brokers of 2 shards: RF 3 in sync on every shard; acks=all records survive the leader's SIGKILL and are read at their offsets from another broker", { skip, timeout: 300_000 }, async () => {
  const cluster = await startCluster(["--shards", "2", "-o", "broker.session.timeout.ms=2000", "-o", "replica.lag.time.max.ms=3000"], () => [], (id) => (id === 3 ? TEST_RUNTIME : "bun"));
  let producer: IdempotentProducer | null = null;
  try {
    const kafka = new Kafka({ clientId: "sharded-cluster", brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const partitions = await createInSyncTopic(admin, TOPIC, PARTITIONS);
    // leaders spread round-robin: every broker (broker 3 under Deno in the Deno pass) leads one and follows others
    assert.deepEqual([...new Set((await partitions()).map((p) => p.leader))].sort(), [1, 2, 3]);
    const victim = (await partitions()).find((p) => p.partitionId === 0)!.leader;

    producer = IdempotentProducer.start(cluster.brokers.map((b) => b.bootstrap).join(","), TOPIC);
    const p = producer;
    await until(`${ACKS_BEFORE} acknowledged records`, 60_000, () => (p.assertRunning(), p.acks.length >= ACKS_BEFORE));
    await cluster.brokers[victim - 1].stop("SIGKILL");
    const killedAt = p.acks.length;
    await until(`a leader other than broker ${victim} for ${TOPIC}-0`, 60_000, async () => {
      const l = (await partitions()).find((x) => x.partitionId === 0)!.leader;
      return l > 0 && l !== victim;
    });
    await until(`${ACKS_AFTER} more acknowledged records`, 90_000, () => (p.assertRunning(), p.acks.length >= killedAt + ACKS_AFTER));
    await p.stop();
    producer = null;
    // librdkafka reports the killed broker's connections as non-fatal transport errors (`E 0 _TRANSPORT`).
    assert.deepEqual(p.problems.filter((l) => !l.startsWith("E 0 ")), [], "no record failed and no fatal client error");
    await admin.disconnect();

    const reader = cluster.brokers.find((_, i) => i + 1 !== victim)!;
    const consumer = new Kafka({ clientId: "sharded-cluster-reader", brokers: [reader.bootstrap], logLevel: logLevel.NOTHING }).consumer({ groupId: "sharded-cluster-readers" });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    const atOffset = new Map<bigint, string>();
    const last = p.acks.reduce((m, a) => (a.offset > m ? a.offset : m), -1n);
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (partition !== 0) return;
        atOffset.set(BigInt(message.offset), message.value!.toString());
        if (BigInt(message.offset) >= last) done();
      },
    });
    await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`read up to offset ${[...atOffset.keys()].pop()} of ${last}`)), 60_000))]);
    await consumer.disconnect();
    assert.ok(p.acks.length >= ACKS_BEFORE + ACKS_AFTER);
    for (const a of p.acks) assert.equal(atOffset.get(a.offset), `v${a.index}`, `acknowledged v${a.index} at offset ${a.offset}`);
  } catch (e) {
    printBrokerLogs(cluster.brokers);
    throw e;
  } finally {
    producer?.kill();
    await cluster.close();
  }
});
