/**
 * etcd down under a three-broker cluster (issue 9, acceptance 6). Three `runnel start` processes on one etcd; etcd
 * is killed (SIGKILL) and later started again on the same data dir, with no broker restarted:
 * - while etcd is away the existing leaders keep serving: kafkajs produces with acks=all to an RF=3 topic (the ISR
 *   does not change) and kcat reads every record back from the leaders;
 * - CreateTopics, on the controller and on another broker, answers REQUEST_TIMED_OUT: retriable, so Kafka clients
 *   retry it (kafkajs, librdkafka and the Java AdminClient all do), and it is what Kafka's own brokers answer when
 *   the controller does not reply within the request's timeout;
 * - once etcd is back a new topic is created, and ISR changes are written again: a stopped follower leaves the ISR
 *   and, started again, rejoins it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster, until } from "../support/cluster-processes.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode, errorName, isRetriable } from "../../src/protocol/errors.ts";

const skip = ETCD_SKIP_REASON || (haveCommand("kcat") ? false : "SKIPPED: no kcat (bash tests/setup.d/*kcat*.sh)");
const TOPIC = "kept";
const PARTITIONS = 3;

test("etcd down: leaders keep serving acks=all produce and fetch, CreateTopics answers retriable REQUEST_TIMED_OUT; etcd back: topics and ISR changes work with no broker restarted", { skip, timeout: 300_000 }, async () => {
  const cluster = await startCluster(["-o", "broker.session.timeout.ms=3000", "-o", "replica.lag.time.max.ms=3000"]);
  try {
    const bootstraps = cluster.brokers.map((b) => b.bootstrap);
    const kafka = new Kafka({ clientId: "etcd-down", brokers: bootstraps, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }] });
    const partitions = async () => (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions;
    /** Partition 0's state, or undefined while the admin client reconnects (a broker was just stopped). */
    const p0state = () => partitions().then((ps) => ps.find((p) => p.partitionId === 0), () => undefined);
    await until("every ISR to hold three replicas", 60_000, async () => (await partitions()).every((p) => p.isr.length === 3));
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const send = (prefix: string, n: number) => producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: n }, (_, i) => ({ value: `${prefix}-${i}`, partition: i % PARTITIONS })) });
    await send("before", 30);

    await cluster.etcd.stop();
    await send("during", 300); // acks=all: every partition's ISR of three is still there
    const readAll = async () => {
      const values: string[] = [];
      for (let p = 0; p < PARTITIONS; p++) {
        const r = await runProc("kcat", ["-C", "-b", bootstraps.join(","), "-t", TOPIC, "-p", String(p), "-o", "beginning", "-e", "-q", "-f", "%s\\n"], { timeoutMs: 60_000 });
        assert.equal(r.code, 0, r.stderr);
        values.push(...r.stdout.split("\n").filter((l) => l.length > 0));
      }
      return values;
    };
    const during = await readAll();
    assert.equal(during.length, 330, "kcat reads every record from the leaders while etcd is down");
    for (let i = 0; i < 300; i++) assert.ok(during.includes(`during-${i}`), `during-${i} read back`);
    for (const p of await partitions()) assert.equal(p.isr.length, 3, `partition ${p.partitionId}: the ISR did not change`);

    for (const b of cluster.brokers) {
      const c = await RawClient.connect(b.port);
      try {
        const r = await c.request(19, 7, { topics: [{ name: "during-outage", numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 5_000, validateOnly: false });
        const code = r.topics[0].errorCode as number;
        assert.equal(code, ErrorCode.REQUEST_TIMED_OUT, `broker at ${b.bootstrap}: ${errorName(code)}`);
        assert.ok(isRetriable(code));
        assert.match(r.topics[0].errorMessage ?? "", /etcd unavailable/, "the message says why");
      } finally {
        c.close();
      }
    }

    await cluster.etcd.resume();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: "after-outage", numPartitions: 1, replicationFactor: 3 }] });
    await send("after", 30);
    // ISR changes are written again: a follower of partition 0 stops, leaves the ISR, comes back and rejoins it.
    const p0 = (await partitions()).find((p) => p.partitionId === 0)!;
    const follower = p0.replicas.find((id) => id !== p0.leader)!;
    await cluster.brokers[follower - 1].stop("SIGKILL");
    await until(`broker ${follower} to leave the ISR of ${TOPIC}-0`, 60_000, async () => {
      const p = await p0state();
      return p !== undefined && p.isr.length === 2 && !p.isr.includes(follower);
    });
    await cluster.restart(follower);
    await until(`broker ${follower} to rejoin the ISR of ${TOPIC}-0`, 90_000, async () => (await p0state())?.isr.includes(follower) === true);
    await producer.disconnect();
    await admin.disconnect();
  } finally {
    await cluster.close();
  }
});
