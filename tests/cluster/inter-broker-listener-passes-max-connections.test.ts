/**
 * Two `runnel start` processes on one etcd, each with a PLAINTEXT client listener and a REPLICATION listener named
 * as `inter.broker.listener.name`; broker 1 has `max.connections=3`. Clients fill broker 1 (its client listener
 * is full); then a partition led by broker 1 with broker 2 as follower is created through broker 2. As in
 * Kafka (ConnectionQuotas' protected listener), broker 1 still accepts the follower's connection on REPLICATION,
 * and, now over `max.connections`, closes the least recently used client connection. The follower replicates over
 * it: once the clients have gone, kafkajs produces there with acks=all and min.insync.replicas=2.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON, TestEtcd } from "../support/etcd.ts";
import { until } from "../support/cluster-processes.ts";
import { startBrokerProcess, type BrokerProcess } from "../support/broker-process.ts";
import { RawClient } from "../support/raw-client.ts";
import { acceptingThreads } from "../support/sharded-test-broker.ts";

const TOPIC = "over-max-connections";
const apiVersions = { clientSoftwareName: "t", clientSoftwareVersion: "1" };

/** `runnel start` arguments: PLAINTEXT for clients, REPLICATION (plaintext) between brokers. */
function clusterArgs(id: number, dataDir: string, etcd: TestEtcd, extra: string[] = []): string[] {
  return [
    "--listeners", "PLAINTEXT://127.0.0.1:0,REPLICATION://127.0.0.1:0", "--data-dir", dataDir,
    "-o", `node.id=${id}`, "-o", `metadata.etcd.endpoints=${etcd.endpoint}`,
    "-o", "replica.fetch.wait.max.ms=100", "-o", "replica.fetch.backoff.ms=100",
    "-o", "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,REPLICATION:PLAINTEXT",
    "-o", "inter.broker.listener.name=REPLICATION",
    ...extra,
  ];
}

test("a full broker accepts the follower on its inter-broker listener and closes its least recently used client connection", { skip: ETCD_SKIP_REASON, timeout: 180_000 }, async () => {
  const etcd = await TestEtcd.start();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-inter-broker-max-conn-"));
  const brokers: BrokerProcess[] = [];
  const clients: RawClient[] = [];
  try {
    brokers.push(await startBrokerProcess("bun", clusterArgs(1, path.join(base, "b1"), etcd, ["-o", "max.connections=3"]), 90_000));
    brokers.push(await startBrokerProcess("bun", clusterArgs(2, path.join(base, "b2"), etcd), 90_000));
    const [b1, b2] = brokers;
    const lines = () => b1.log().split("\n");
    const threads = acceptingThreads(lines());
    const clientsPaused = () => lines().filter((l) => l.includes("max.connections=3 open connections: new connections to") && l.includes("(listener PLAINTEXT)")).length;
    // fill broker 1 with served client connections until every accepting thread's client listener is full
    for (let i = 0; i < 3 && clientsPaused() === 0; i++) {
      const c = await RawClient.connect(b1.port);
      clients.push(c);
      assert.equal((await c.request(18, 3, apiVersions)).errorCode, 0);
    }
    await until(`broker 1's client listener to be full in ${threads} threads`, 30_000, () => clientsPaused() >= threads);
    // the later clients were used last: the first is the least recently used (on a sharded node the thread that
    // takes the follower's connection closes its own least recently used one)
    for (const c of clients.slice(1)) await c.request(18, 3, apiVersions);
    let closed: number | null = null;
    for (const [i, c] of clients.entries()) void c.closed.then(() => (closed ??= i));

    // a partition led by broker 1, followed by broker 2, created through broker 2
    const admin = await RawClient.connect(b2.port);
    try {
      const created = await admin.request(19, 7, { topics: [{ name: TOPIC, numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }], configs: [{ name: "min.insync.replicas", value: "2" }] }], timeoutMs: 30_000, validateOnly: false });
      assert.equal(created.topics[0].errorCode, 0, JSON.stringify(created.topics[0]));
    } finally {
      admin.close();
    }
    // the follower's connection to REPLICATION is accepted over max.connections, and a client connection closes
    await until("a client connection of broker 1 to be closed", 30_000, () => closed !== null);
    if (threads === 1) assert.equal(closed, 0, "the least recently used client connection closed");
    await until("broker 1 to log the close", 10_000, () => /closing connection .* on listener PLAINTEXT, the least recently used: more than max.connections=3 open connections/.test(b1.log()));
    assert.doesNotMatch(b1.log(), /new connections to .*\(listener REPLICATION\) wait/, "the inter-broker listener never held connections");

    // the clients leave; a producer reaches broker 1, and acks=all with min.insync.replicas=2 needs the follower
    for (const c of clients) c.close();
    const kafka = new Kafka({ clientId: "inter-broker-max-conn", brokers: [b1.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const sent = await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: "replicated over REPLICATION" }] });
      assert.equal(sent[0].errorCode, 0);
    } finally {
      await producer.disconnect();
    }
  } finally {
    for (const c of clients) c.close();
    for (const b of brokers.reverse()) await b.stop();
    await etcd.stop();
    fs.rmSync(base, { recursive: true, force: true });
  }
});
