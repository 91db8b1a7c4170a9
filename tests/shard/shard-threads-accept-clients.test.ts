/**
 * `runnel.shards.accept` (default true, Bun): the shard threads of a sharded node listen on the node's port too
 * (SO_REUSEPORT) and serve the clients the kernel gives them with the front's routing: 30 connections are spread
 * over the main thread and the shard threads, every one sees the same single broker, and kafkajs round-trips
 * records over partitions of both shards; over a TLS listener too. With `runnel.shards.accept=false` only the main
 * thread serves clients.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { BrokerConfig } from "../../src/broker/config.ts";
import { reusePortSupported } from "../../src/platform/net.ts";
import { startShardedNode, type ShardedNode } from "../../src/shard/sharded-node.ts";
import { RawClient } from "../support/raw-client.ts";
import { testLogger } from "../support/broker.ts";
import { certSkip, makeTestCerts } from "../security/test-certs.ts";

const skip = reusePortSupported() ? false : "SKIPPED: SO_REUSEPORT listeners are used on Bun and on Deno on Linux only";
const CONNECTIONS = 30;

/** Starts a 2-shard node (worker threads) with node id 5 on a temp dir. */
async function startNode(accept: boolean, extra: [string, string][] = []): Promise<{ node: ShardedNode; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-accept-"));
  const config = new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["node.id", "5"], ["log.dirs", dir], ["runnel.shards", "2"], ["num.partitions", "4"], ["group.initial.rebalance.delay.ms", "0"], ["runnel.shards.accept", String(accept)], ...extra]));
  return { node: await startShardedNode(config, { logger: testLogger() }), dir };
}

/** Opens `n` connections that each ask Metadata; checks every answer names one broker, the node. */
async function metadataFromMany(port: number, n: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: n }, () => RawClient.connect(port)));
  try {
    for (const c of clients) {
      const md = await c.request(3, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      assert.deepEqual(md.brokers.map((b: { nodeId: number; port: number }) => [b.nodeId, b.port]), [[5, port]]);
      assert.equal(md.controllerId, 5);
    }
  } finally {
    for (const c of clients) c.close();
  }
}

test("shard threads accept clients on the node's port and route them", { skip, timeout: 120_000 }, async () => {
  const { node, dir } = await startNode(true);
  try {
    const port = node.port();
    await metadataFromMany(port, CONNECTIONS);
    const byShards = await node.shards.frontClients();
    assert.equal(node.front.router.servedClients + byShards.reduce((a, b) => a + b, 0), CONNECTIONS);
    assert.ok(byShards.some((n) => n > 0), `no connection reached a shard thread: main ${node.front.router.servedClients}, shards ${byShards}`);

    const kafka = new Kafka({ clientId: "accept", brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "spread", numPartitions: 4 }], waitForLeaders: true });
    await admin.disconnect();
    const owners = [0, 1, 2, 3].map((p) => node.shards.metadata.partitionState("spread", p)!.leader);
    assert.deepEqual([...new Set(owners)].sort(), [0, 1]);
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic: "spread", acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ value: `v${i}`, partition: i % 4 })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: "spread-g", maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topics: ["spread"], fromBeginning: true });
    const got = new Set<string>();
    await new Promise<void>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => {
        got.add(message.value!.toString());
        if (got.size === 20) resolve();
      } });
    });
    await consumer.disconnect();
    assert.equal(got.size, 20);
  } finally {
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("runnel.shards.accept=false: only the main thread's front serves clients", { skip, timeout: 120_000 }, async () => {
  const { node, dir } = await startNode(false);
  try {
    await metadataFromMany(node.port(), 10);
    assert.equal(node.front.router.servedClients, 10);
    assert.deepEqual(await node.shards.frontClients(), [0, 0]);
  } finally {
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("over a TLS listener too: shard threads terminate TLS for the clients they get", { skip: skip || certSkip, timeout: 120_000 }, async () => {
  const certs = makeTestCerts();
  const { node, dir } = await startNode(true, [["listeners", "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0"], ["ssl.keystore.location", certs.serverKeystore]]);
  try {
    const sslPort = node.port("SSL");
    const kafka = new Kafka({ clientId: "tls", brokers: [`127.0.0.1:${sslPort}`], ssl: { ca: [fs.readFileSync(certs.caCert, "utf8")] }, logLevel: logLevel.NOTHING });
    for (let i = 0; i < 12; i++) {
      const admin = kafka.admin();
      await admin.connect();
      const cluster = await admin.describeCluster();
      assert.deepEqual(cluster.brokers.map((b) => [b.nodeId, b.port]), [[5, sslPort]]);
      await admin.disconnect();
    }
    const byShards = await node.shards.frontClients();
    assert.ok(byShards.some((n) => n > 0), `no TLS connection reached a shard thread: main ${node.front.router.servedClients}, shards ${byShards}`);
  } finally {
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    certs.remove();
  }
});
