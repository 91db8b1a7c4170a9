/** Test support for shard tests: a node's shards started on a temp dir, and Runnel's client reaching them over ports. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import assert from "node:assert/strict";
import { Kafka, logLevel, type Consumer, type Producer } from "kafkajs";
import type { FrontOverShards } from "./front-fixture.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import type { Dialer } from "../../src/client/connection.ts";
import { ShardSet } from "../../src/shard/shard-host.ts";
import { reusePortSupported } from "../../src/platform/net.ts";
import { startShardedNode, type ShardedNode } from "../../src/shard/sharded-node.ts";
import { RawClient } from "../support/raw-client.ts";
import { testLogger } from "../support/broker.ts";

/** A fresh temp data dir. */
export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "runnel-shards-"));
}

/** A node config of `shards` shards on `dataDir`. */
export function nodeConfig(dataDir: string, shards: number, extra: Record<string, string> = {}): BrokerConfig {
  return new BrokerConfig(new Map(Object.entries({ "log.dirs": dataDir, "runnel.shards": String(shards), "num.partitions": "1", "group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "4", ...extra })));
}

const quiet = { info: () => {}, warn: (m: string) => console.error(m), error: (m: string) => console.error(m) };

/** Starts the shards of a node (in this thread, or worker threads). */
export function startShards(dataDir: string, shards: number, inThread: boolean, extra: Record<string, string> = {}): Promise<ShardSet> {
  return ShardSet.start(nodeConfig(dataDir, shards, extra), { inThread, logger: quiet, onFatal: (r) => console.error(`FATAL ${r}`) });
}

/** A client dialer that reaches shard K at "shard-K:9092" (the shards' own registered endpoints) over ports. */
export function shardDialer(set: ShardSet): Dialer {
  return (host, _port, nodeId) => {
    const shard = nodeId >= 0 ? nodeId : Number(/^shard-(\d+)$/.exec(host)?.[1]);
    if (!Number.isInteger(shard)) throw new Error(`not a shard address: ${host}`);
    return set.open(shard, { remote: "test-client:1", remoteIp: "test-client" });
  };
}

/**
 * Creates a 2-partition topic `prefix-N` over `raw` (a client of the node's front) whose partitions are on different
 * shards of `shards` (trying N = 0, 1, ... until placement splits one), and returns its name.
 */
export async function topicOnTwoShards(raw: { request(k: number, v: number, b: unknown): Promise<any> }, shards: Pick<ShardSet, "metadata">, prefix: string): Promise<string> {
  for (let i = 0; ; i++) {
    const name = `${prefix}-${i}`;
    const created = await raw.request(19, 7, { topics: [{ name, numPartitions: 2, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false });
    if (created.topics[0].errorCode !== 0) throw new Error(`CreateTopics ${name}: error ${created.topics[0].errorCode}`);
    const owners = [0, 1].map((p) => shards.metadata.partitionState(name, p)!.leader);
    if (owners[0] !== owners[1]) return name;
  }
}

/**
 * Reads every record of `topic` from the beginning with a kafkajs `consumer` (connected here) until it has as many as
 * `expected` holds, and checks each partition's values against `expected[partition]`, in order; `owners` names each
 * partition's shard in the failure message.
 */
export async function readBackEveryPartition(consumer: { connect(): Promise<void>; subscribe(s: { topic: string; fromBeginning: boolean }): Promise<void>; run(c: { eachMessage(p: { partition: number; message: { value: Buffer | null } }): Promise<void> }): Promise<void> }, topic: string, expected: string[][], owners: number[]): Promise<void> {
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[][] = expected.map(() => []);
  const total = expected.reduce((n, e) => n + e.length, 0);
  let count = 0;
  await new Promise<void>((resolve, reject) => {
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen[partition].push(message.value!.toString());
        if (++count === total) resolve();
      },
    }).catch(reject);
  });
  for (let p = 0; p < expected.length; p++) assert.deepEqual(seen[p], expected[p], `partition ${p} (shard ${owners[p]}) reads back what was produced`);
}

/** kafkajs clients on a front-over-shards node, a topic spread over its shards, and what each partition's owner is. */
export interface KafkajsOnFront {
  producer: Producer;
  consumer: Consumer;
  /** The shard owning each partition of the topic (both shards own some). */
  owners: number[];
  /** Disconnects the clients. */
  disconnect(): Promise<void>;
}

/**
 * Connects a kafkajs producer, admin and consumer (group `<clientId>-check`) to `node`, creates `topic` with
 * `partitions` partitions and checks that they lie on both shards. When any of that fails, it also closes `node`
 * (the caller's test then has nothing to stop).
 */
export async function kafkajsOnFront(node: FrontOverShards, clientId: string, topic: string, partitions: number): Promise<KafkajsOnFront> {
  const kafka = new Kafka({ clientId, brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const admin = kafka.admin();
  const consumer = kafka.consumer({ groupId: `${clientId}-check` });
  const disconnect = async () => {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  };
  try {
    await admin.connect();
    await producer.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    const owners = Array.from({ length: partitions }, (_, p) => node.ownerOf(topic, p));
    assert.deepEqual(new Set(owners), new Set([0, 1]), `partitions on both shards: ${owners}`);
    return { producer, consumer, owners, disconnect };
  } catch (e) {
    await disconnect();
    await node.close();
    throw e;
  }
}

/**
 * Runs `body` with `connections` raw clients of a 2-shard node (worker threads) whose shard threads accept clients
 * too (`runnel.shards.accept`), on a fresh temp dir with `settings` added; checks that the kernel gave a shard thread
 * some of the connections (so the shard threads' fronts served some), then stops the node and removes the dir.
 */
export async function withAcceptingNode(settings: Record<string, string>, connections: number, body: (clients: RawClient[], node: ShardedNode) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-accepting-"));
  const config = new BrokerConfig(new Map(Object.entries({ listeners: "PLAINTEXT://127.0.0.1:0", "log.dirs": dir, "runnel.shards": "2", "runnel.shards.accept": "true", ...settings })));
  const node = await startShardedNode(config, { logger: testLogger() });
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < connections; i++) clients.push(await RawClient.connect(node.port()));
    await body(clients, node);
    const byShards = await node.shards.frontClients();
    assert.ok(byShards.some((n) => n > 0), `no connection reached a shard thread: main ${node.front.router.servedClients}, shards ${byShards}`);
  } finally {
    for (const c of clients) c.close();
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Why a test of shard threads accepting clients is skipped here, or false (SO_REUSEPORT: Bun, Deno on Linux). */
export const acceptSkip = reusePortSupported() ? false : "SKIPPED: shard threads accept clients on Bun and on Deno on Linux only";
