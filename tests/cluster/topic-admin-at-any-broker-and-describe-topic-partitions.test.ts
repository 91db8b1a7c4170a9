/**
 * Three `runnel start` processes on one etcd:
 * - CreateTopics, CreatePartitions and DeleteTopics sent to a broker that is not the controller are done there
 *   (that broker writes the controller's placement to etcd as a create-if-absent transaction; Kafka 4 forwards them
 *   to its controller instead; either way the client gets success, not NOT_CONTROLLER), and every broker sees the
 *   result;
 * - Kafka 4.4's `kafka-topics --describe` uses DescribeTopicPartitions (API 75): its partition lines carry the
 *   eligible leader replica fields as lists (empty, as Kafka fills them without ELR; "N/A" would mean it fell back to
 *   Metadata), with the real leaders, replicas and ISR, also when it pages with `--partition-size-limit-per-response`;
 * - raw DescribeTopicPartitions: sorted topics, cursor pagination across topics, unknown topics, a cursor outside the
 *   topic list (INVALID_REQUEST), and offline replicas plus a shrunk ISR once a broker is killed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster, until } from "../support/cluster-processes.ts";
import { RawClient } from "../support/raw-client.ts";
import { KAFKA_TOOL, javaSkip, runJava } from "../support/java.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

type DtpPartition = { partitionIndex: number; leaderId: number; leaderEpoch: number; replicaNodes: number[]; isrNodes: number[]; offlineReplicas: number[]; eligibleLeaderReplicas: number[] | null; lastKnownElr: number[] | null };
type DtpTopic = { errorCode: number; name: string; isInternal: boolean; partitions: DtpPartition[] };
type DtpResponse = { topics: DtpTopic[]; nextCursor: { topicName: string; partitionIndex: number } | null };

test("topic admin at a non-controller broker, and DescribeTopicPartitions with kafka-topics --describe", { skip: ETCD_SKIP_REASON, timeout: 300_000 }, async () => {
  const cluster = await startCluster(["-o", "broker.session.timeout.ms=2000", "-o", "replica.lag.time.max.ms=2000"]);
  const { brokers } = cluster;
  try {
    const kafka = new Kafka({ clientId: "admin-any", brokers: brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    let controller = -1;
    await until("a controller and three brokers", 30_000, async () => {
      const c = await admin.describeCluster();
      controller = c.controller ?? -1;
      return c.brokers.length === 3 && controller > 0;
    });
    const other = brokers.find((_, i) => i + 1 !== controller)!;
    const raw = await RawClient.connect(other.port);
    try {
      // admin requests at a broker that is not the controller
      const created = await raw.request(19, 7, { topics: [{ name: "alpha", numPartitions: 3, replicationFactor: 3, assignments: [], configs: [{ name: "min.insync.replicas", value: "2" }] }, { name: "beta", numPartitions: 2, replicationFactor: 2, assignments: [], configs: [] }, { name: "gone", numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false });
      assert.deepEqual(created.topics.map((t: { name: string; errorCode: number }) => [t.name, t.errorCode]), [["alpha", 0], ["beta", 0], ["gone", 0]]);
      const grown = await raw.request(37, 3, { topics: [{ name: "beta", count: 4, assignments: null }], timeoutMs: 30_000, validateOnly: false });
      assert.equal(grown.results[0].errorCode, 0, "CreatePartitions at a non-controller");
      const deleted = await raw.request(20, 6, { topics: [{ name: "gone", topicId: new Uint8Array(16) }], timeoutMs: 30_000 });
      assert.equal(deleted.responses[0].errorCode, 0, "DeleteTopics at a non-controller");
      for (const b of brokers) {
        const a = new Kafka({ clientId: "view", brokers: [b.bootstrap], logLevel: logLevel.NOTHING }).admin();
        await a.connect();
        await until(`${b.bootstrap} to see alpha, beta with 4 partitions and no gone`, 30_000, async () => {
          const md = await a.fetchTopicMetadata();
          const names = md.topics.map((t) => t.name);
          return names.includes("alpha") && md.topics.find((t) => t.name === "beta")?.partitions.length === 4 && !names.includes("gone");
        });
        await a.disconnect();
      }
      const md = await admin.fetchTopicMetadata({ topics: ["alpha", "beta"] });
      const byTopic = new Map(md.topics.map((t) => [t.name, [...t.partitions].sort((x, y) => x.partitionId - y.partitionId)]));

      // DescribeTopicPartitions: every topic, two partitions per answer, following the cursor
      const pages: DtpResponse[] = [];
      let cursor: { topicName: string; partitionIndex: number } | null = null;
      do {
        const r: DtpResponse = await raw.request(75, 0, { topics: [], responsePartitionLimit: 2, cursor });
        pages.push(r);
        cursor = r.nextCursor;
      } while (cursor !== null && pages.length < 10);
      const seen = pages.flatMap((p) => p.topics.flatMap((t) => t.partitions.map((x) => `${t.name}-${x.partitionIndex}`)));
      assert.deepEqual(seen, ["alpha-0", "alpha-1", "alpha-2", "beta-0", "beta-1", "beta-2", "beta-3"], "sorted, each partition once, two per page");
      assert.equal(pages.length, 4);
      assert.deepEqual(pages[0].nextCursor, { topicName: "alpha", partitionIndex: 2 });
      for (const t of pages.flatMap((p) => p.topics)) {
        for (const p of t.partitions) {
          const m = byTopic.get(t.name)![p.partitionIndex];
          assert.deepEqual([p.leaderId, [...p.replicaNodes].sort(), [...p.isrNodes].sort(), p.offlineReplicas], [m.leader, [...m.replicas].sort(), [...m.isr].sort(), []], `${t.name}-${p.partitionIndex} as Metadata reports it`);
          assert.deepEqual([p.eligibleLeaderReplicas, p.lastKnownElr], [[], []]);
        }
      }
      // named topics: unknown ones get an error; the cursor must name a listed topic
      const named: DtpResponse = await raw.request(75, 0, { topics: [{ name: "beta" }, { name: "nope" }, { name: "alpha" }], responsePartitionLimit: 100, cursor: null });
      assert.deepEqual(named.topics.map((t) => [t.name, t.errorCode, t.partitions.length]), [["alpha", 0, 3], ["beta", 0, 4], ["nope", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0]]);
      const bad: DtpResponse = await raw.request(75, 0, { topics: [{ name: "alpha" }], responsePartitionLimit: 100, cursor: { topicName: "beta", partitionIndex: 0 } });
      assert.deepEqual(bad.topics.map((t) => t.errorCode), [ErrorCode.INVALID_REQUEST]);

      // Kafka 4.4's kafka-topics --describe (DescribeTopicPartitions, paging two partitions at a time)
      if (javaSkip) console.error(`SKIPPED the kafka-topics leg: ${javaSkip}`);
      else {
        const r = await runJava(KAFKA_TOOL.topics, ["--bootstrap-server", other.bootstrap, "--describe", "--topic", "alpha", "--partition-size-limit-per-response", "2"], { timeoutMs: 120_000 });
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.split("\n").filter((l) => l.trim().startsWith("Topic: alpha\tPartition:"));
        assert.equal(lines.length, 3, r.stdout);
        for (const [i, p] of byTopic.get("alpha")!.entries()) {
          assert.equal(lines[i].trim(), `Topic: alpha\tPartition: ${i}\tLeader: ${p.leader}\tReplicas: ${p.replicas.join(",")}\tIsr: ${p.isr.join(",")}\tElr: \tLastKnownElr:`.trim());
        }
        assert.match(r.stdout, /Topic: alpha\tTopicId: \S+\tPartitionCount: 3\tReplicationFactor: 3\tConfigs: .*min\.insync\.replicas=2/);
      }

      // a killed broker: its replicas are offline and it leaves the ISR
      const victim = brokers.findIndex((_, i) => i + 1 !== controller && brokers[i] !== other) + 1;
      await brokers[victim - 1].stop("SIGKILL");
      await until(`broker ${victim} to be offline everywhere in alpha`, 60_000, async () => {
        const r: DtpResponse = await raw.request(75, 0, { topics: [{ name: "alpha" }], responsePartitionLimit: 100, cursor: null });
        return r.topics[0].partitions.every((p) => p.offlineReplicas.includes(victim) && !p.isrNodes.includes(victim) && p.leaderId !== victim && p.leaderId > 0);
      });
    } finally {
      raw.close();
      await admin.disconnect().catch(() => undefined);
    }
  } finally {
    await cluster.close();
  }
});
