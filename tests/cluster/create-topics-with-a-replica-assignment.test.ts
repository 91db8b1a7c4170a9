/**
 * CreateTopics with a manual replica assignment on three `runnel start` processes and one etcd, as Kafka users send
 * it (`kafka-topics --create --replica-assignment`, kafkajs `replicaAssignment`, a raw request at a broker that is not
 * the controller):
 * - every partition sits on exactly the brokers named, in the order named, the first one leading and all in the ISR
 *   (kafka-topics --describe, Metadata at every broker), and only those brokers hold its files;
 * - records produced with acks=all are read back from each partition, and each named replica holds the same batches;
 * - the invalid assignments get Kafka's error codes and messages (unknown broker, a broker twice, an empty list,
 *   replica counts that differ, a partition twice, a hole in the partition ids, counts not -1), and create nothing;
 *   validate-only checks the same and reports the counts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { metadataOf, printBrokerLogs, startCluster, until } from "../support/cluster-processes.ts";
import { RawClient } from "../support/raw-client.ts";
import { KAFKA_TOOL, javaSkip, startToolSession } from "../support/java.ts";
import { partitionLogBytes } from "../support/segment-batches.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

/** Records produced to each partition. */
const PER_PARTITION = 50;

type Placement = Record<string, number[][]>;

/** Each topic's partitions as `port`'s Metadata shows them: [leader, replicas, isr] by partition. */
async function shownAt(port: number, topics: string[]): Promise<Record<string, [number, number[], number[]][]>> {
  const md = await metadataOf(port);
  const out: Record<string, [number, number[], number[]][]> = {};
  for (const name of topics) {
    const t = md.topics.find((x) => x.name === name);
    out[name] = t === undefined || t.errorCode !== 0 ? [] : [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => [p.leaderId, p.replicaNodes, p.isrNodes]);
  }
  return out;
}

/** What every broker should show for `placement`: the first replica leads, all in sync, in the order named. */
function expectedShown(placement: Placement): Record<string, [number, number[], number[]][]> {
  return Object.fromEntries(Object.entries(placement).map(([t, parts]) => [t, parts.map((r): [number, number[], number[]] => [r[0], r, r])]));
}

test("CreateTopics with a replica assignment puts each partition on the brokers named, leader first; bad ones get Kafka's errors", { skip: ETCD_SKIP_REASON, timeout: 300_000 }, async () => {
  const cluster = await startCluster(["-o", "broker.session.timeout.ms=2000"]);
  const { brokers, dataDirs } = cluster;
  const tools = javaSkip ? null : startToolSession();
  const kafka = new Kafka({ clientId: "assign", brokers: brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 200 } });
  const admin = kafka.admin();
  let ok = false;
  try {
    await admin.connect();
    let controller = -1;
    await until("a controller", 30_000, async () => (controller = (await admin.describeCluster()).controller ?? -1) > 0);
    const otherId = [1, 2, 3].find((id) => id !== controller)!;
    const placement: Placement = {};

    // kafka-topics --create --replica-assignment (Kafka 4.4's tool: CreateTopics at the controller)
    if (tools === null) console.error(`SKIPPED the kafka-topics leg: ${javaSkip}`);
    else {
      const bs = ["--bootstrap-server", brokers.map((b) => b.bootstrap).join(",")];
      const created = await tools.run(KAFKA_TOOL.topics, [...bs, "--create", "--topic", "by-hand", "--replica-assignment", "1:2,2:3,3:1"]);
      assert.equal(created.code, 0, created.stdout + created.stderr);
      assert.match(created.stdout, /Created topic by-hand\./);
      placement["by-hand"] = [[1, 2], [2, 3], [3, 1]];
      const refused = await tools.run(KAFKA_TOOL.topics, [...bs, "--create", "--topic", "by-hand-nowhere", "--replica-assignment", "1:9"]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stdout + refused.stderr, /The manual partition assignment includes broker 9, but no such broker is registered\./);
    }

    // kafkajs createTopics({ replicaAssignment }), replication factor 3 with a different leader each
    assert.equal(await admin.createTopics({ waitForLeaders: true, topics: [{ topic: "kjs", replicaAssignment: [{ partition: 0, replicas: [3, 1, 2] }, { partition: 1, replicas: [2, 3, 1] }, { partition: 2, replicas: [1, 2, 3] }] }] }), true);
    placement.kjs = [[3, 1, 2], [2, 3, 1], [1, 2, 3]];

    // a raw CreateTopics at a broker that is not the controller (it writes the placement itself), partitions listed out of order
    const raw = await RawClient.connect(brokers[otherId - 1].port);
    try {
      const solo = await raw.request(19, 7, { topics: [{ name: "solo", numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 1, brokerIds: [otherId] }, { partitionIndex: 0, brokerIds: [controller] }], configs: [] }], timeoutMs: 30_000, validateOnly: false });
      assert.deepEqual(solo.topics.map((t: any) => [t.name, t.errorCode, t.errorMessage, t.numPartitions, t.replicationFactor]), [["solo", 0, null, 2, 1]]);
      placement.solo = [[controller], [otherId]];

      // invalid assignments: Kafka's codes and messages, at the non-controller and at the controller
      const bad = (name: string, assignments: { partitionIndex: number; brokerIds: number[] }[], counts: [number, number] = [-1, -1]) => ({ name, numPartitions: counts[0], replicationFactor: counts[1], assignments, configs: [] });
      const invalid = [
        bad("bad-unknown", [{ partitionIndex: 0, brokerIds: [1, 9] }]),
        bad("bad-twice-in-one", [{ partitionIndex: 0, brokerIds: [2, 3, 2] }]),
        bad("bad-empty", [{ partitionIndex: 0, brokerIds: [] }]),
        bad("bad-counts-differ", [{ partitionIndex: 0, brokerIds: [1, 2] }, { partitionIndex: 1, brokerIds: [3] }]),
        bad("bad-same-partition", [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 0, brokerIds: [2] }]),
        bad("bad-hole", [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 2, brokerIds: [2] }]),
        bad("bad-partitions-set", [{ partitionIndex: 0, brokerIds: [1] }], [2, -1]),
        bad("bad-rf-set", [{ partitionIndex: 0, brokerIds: [1] }], [-1, 1]),
      ];
      const kafkaSays = [
        ["bad-unknown", ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes broker 9, but no such broker is registered."],
        ["bad-twice-in-one", ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes the broker 2 more than once."],
        ["bad-empty", ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes an empty replica list."],
        ["bad-counts-differ", ErrorCode.INVALID_REPLICA_ASSIGNMENT, "The manual partition assignment includes a partition with 1 replica(s), but this is not consistent with previous partitions, which have 2 replica(s)."],
        ["bad-same-partition", ErrorCode.INVALID_REPLICA_ASSIGNMENT, "Found multiple manual partition assignments for partition 0"],
        ["bad-hole", ErrorCode.INVALID_REPLICA_ASSIGNMENT, "partitions should be a consecutive 0-based integer sequence"],
        ["bad-partitions-set", ErrorCode.INVALID_REQUEST, "A manual partition assignment was specified, but numPartitions was not set to -1."],
        ["bad-rf-set", ErrorCode.INVALID_REQUEST, "A manual partition assignment was specified, but replication factor was not set to -1."],
      ];
      for (const port of [brokers[otherId - 1].port, brokers[controller - 1].port]) {
        const c = port === brokers[otherId - 1].port ? raw : await RawClient.connect(port);
        try {
          for (const validateOnly of [false, true]) {
            const r = await c.request(19, 7, { topics: invalid, timeoutMs: 30_000, validateOnly });
            assert.deepEqual(r.topics.map((t: any) => [t.name, t.errorCode, t.errorMessage]), kafkaSays, `at broker on port ${port}, validateOnly ${validateOnly}`);
          }
          // validate-only with a good assignment: no error, the counts reported, nothing created
          const vo = await c.request(19, 7, { topics: [bad("validated", [{ partitionIndex: 0, brokerIds: [2, 3] }, { partitionIndex: 1, brokerIds: [3, 1] }])], timeoutMs: 30_000, validateOnly: true });
          assert.deepEqual(vo.topics.map((t: any) => [t.name, t.errorCode, t.numPartitions, t.replicationFactor]), [["validated", 0, 2, 2]]);
        } finally {
          if (c !== raw) c.close();
        }
      }
    } finally {
      raw.close();
    }

    // every broker shows the placements as named, and none of the refused topics
    const names = Object.keys(placement);
    for (const b of brokers) {
      await until(`broker on ${b.port} to show ${names.join(", ")} as assigned`, 30_000, async () => JSON.stringify(await shownAt(b.port, names)) === JSON.stringify(expectedShown(placement)));
      const listed = (await metadataOf(b.port)).topics.map((t) => t.name).sort();
      assert.deepEqual(listed, [...names].sort(), `broker on ${b.port} lists only the created topics`);
    }
    if (tools !== null) {
      const d = await tools.run(KAFKA_TOOL.topics, ["--bootstrap-server", brokers[otherId - 1].bootstrap, "--describe", "--topic", "by-hand"]);
      assert.equal(d.code, 0, d.stderr);
      assert.match(d.stdout, /Topic: by-hand\tTopicId: \S+\tPartitionCount: 3\tReplicationFactor: 2\t/);
      const lines = d.stdout.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("Topic: by-hand\tPartition:"));
      assert.deepEqual(lines, [["0", "1", "1,2"], ["1", "2", "2,3"], ["2", "3", "3,1"]].map(([p, l, r]) => `Topic: by-hand\tPartition: ${p}\tLeader: ${l}\tReplicas: ${r}\tIsr: ${r}\tElr: \tLastKnownElr:`));
    }

    // records through the named leaders (acks=all), read back; each named replica holds the leader's batches, no other broker the partition
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    for (const [topic, parts] of Object.entries(placement)) {
      for (let p = 0; p < parts.length; p++) {
        await producer.send({ topic, acks: -1, messages: Array.from({ length: PER_PARTITION }, (_, i) => ({ key: `k${i}`, value: `${topic}/${p}/${i}`, partition: p })) });
      }
    }
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: "assign-readback" });
    await consumer.connect();
    const seen = new Map<string, string[]>();
    await consumer.subscribe({ topics: names, fromBeginning: true });
    const total = Object.values(placement).reduce((n, parts) => n + parts.length * PER_PARTITION, 0);
    let read = 0;
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const k = `${topic}-${partition}`;
        seen.set(k, [...(seen.get(k) ?? []), message.value!.toString()]);
        read++;
      },
    });
    await until(`the ${total} records to be read back`, 60_000, () => read >= total);
    await consumer.disconnect();
    for (const [topic, parts] of Object.entries(placement)) {
      for (let p = 0; p < parts.length; p++) {
        assert.deepEqual(seen.get(`${topic}-${p}`), Array.from({ length: PER_PARTITION }, (_, i) => `${topic}/${p}/${i}`), `${topic}-${p} read back in order`);
        const leaderBytes = partitionLogBytes(dataDirs[parts[p][0] - 1], topic, p);
        assert.ok(leaderBytes.length > 0, `${topic}-${p}: the leader ${parts[p][0]} wrote the records`);
        await until(`${topic}-${p}'s followers to hold the leader's batches`, 30_000, () => parts[p].every((r) => partitionLogBytes(dataDirs[r - 1], topic, p).equals(leaderBytes)));
        for (const id of [1, 2, 3].filter((r) => !parts[p].includes(r))) {
          assert.ok(!fs.existsSync(path.join(dataDirs[id - 1], `${topic}-${p}`)), `${topic}-${p} is not on broker ${id}, which the assignment does not name`);
        }
      }
    }
    ok = true;
  } finally {
    if (!ok) printBrokerLogs(brokers);
    await admin.disconnect().catch(() => undefined);
    await tools?.close();
    await cluster.close();
  }
});
