/**
 * A cluster of three `runnel start` processes (node ids 1, 2, 3) on a fresh etcd, all on OS-chosen loopback ports,
 * each with its own data dir under one temp dir; for the cluster tests.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TestEtcd } from "./etcd.ts";
import { Kafka, logLevel, type Admin, type PartitionMetadata } from "kafkajs";
import { startBrokerProcess, type BrokerProcess, type BrokerRuntime } from "./broker-process.ts";
import type { MetadataResponse } from "../../src/protocol/generated/03_metadata.ts";
import { RawClient } from "./raw-client.ts";

/** Waits until `check` answers true, polling; fails with `what` after `timeoutMs`. */
export async function until(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Three brokers on a fresh etcd. */
export interface TestCluster {
  etcd: TestEtcd;
  brokers: BrokerProcess[];
  dataDirs: string[];
  /** Starts broker `id` again on its data dir (after it was stopped); with `samePort` on the port it had. */
  restart(id: number, opts?: { samePort?: boolean }): Promise<BrokerProcess>;
  /** Starts a new broker `id` (4, 5, ...) with only its own settings (`extra` added to the cluster's). */
  add(id: number, extra?: string[]): Promise<BrokerProcess>;
  close(): Promise<void>;
}

/** The runtime the test itself runs on: "deno" in Deno's test pass, else "bun". */
export const TEST_RUNTIME: BrokerRuntime = "Deno" in globalThis ? "deno" : "bun";

/**
 * Starts etcd and brokers 1, 2 and 3 (with `extra` settings, and `perBroker(id)` for each) on OS-chosen loopback
 * ports, broker `id` under `runtimeOf(id)` (Bun by default; restarts and added brokers too), with its `--data-dir` (its
 * `log.dirs`, comma-separated) `dataDirOf(id, base)` (default: `b<id>` under a fresh temp dir `base`).
 */
export async function startCluster(extra: string[] = [], perBroker: (id: number) => string[] = () => [], runtimeOf: (id: number) => BrokerRuntime = () => "bun", dataDirOf: (id: number, base: string) => string = (id, base) => path.join(base, `b${id}`)): Promise<TestCluster> {
  const etcd = await TestEtcd.start();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-3brokers-"));
  const brokers: BrokerProcess[] = [];
  const dataDirs = [1, 2, 3].map((id) => dataDirOf(id, base));
  const close = async () => {
    for (const b of brokers) await b.stop("SIGKILL");
    await etcd.close();
    fs.rmSync(base, { recursive: true, force: true });
  };
  const args = (id: number, more: string[] = [], port = 0) => ["--port", String(port), "--data-dir", dataDirs[id - 1], "-o", `node.id=${id}`, "-o", `metadata.etcd.endpoints=${etcd.endpoint}`, "-o", "replica.fetch.wait.max.ms=100", "-o", "replica.fetch.backoff.ms=100", ...extra, ...perBroker(id), ...more];
  try {
    for (const id of [1, 2, 3]) brokers.push(await startBrokerProcess(runtimeOf(id), args(id), 90_000));
  } catch (e) {
    await close();
    throw e;
  }
  const restart = async (id: number, opts: { samePort?: boolean } = {}) => (brokers[id - 1] = await startBrokerProcess(runtimeOf(id), args(id, [], opts.samePort ? brokers[id - 1].port : 0), 90_000));
  const add = async (id: number, more: string[] = []) => {
    dataDirs[id - 1] = path.join(base, `b${id}`);
    return (brokers[id - 1] = await startBrokerProcess(runtimeOf(id), args(id, more), 90_000));
  };
  const cluster: TestCluster = { etcd, brokers, dataDirs, restart, add, close };
  try {
    await waitForRegistrations(cluster);
  } catch (e) {
    await close();
    throw e;
  }
  return cluster;
}


/** The coordinator node id FindCoordinator (v3) at `port` names for `key` (keyType 0 group, 1 transaction); -1 on an error. */
export async function coordinatorNodeAt(port: number, key: string, keyType: 0 | 1): Promise<number> {
  const raw = await RawClient.connect(port);
  try {
    const r = await raw.request(10, 3, { key, keyType });
    return r.errorCode === 0 ? r.nodeId : -1;
  } finally {
    raw.close();
  }
}

/** Prints the end of every broker's log to stderr (a failed cluster test says what the brokers saw). */
export function printBrokerLogs(brokers: readonly BrokerProcess[], chars = 6000): void {
  for (const [i, b] of brokers.entries()) console.error(`--- broker ${i + 1} log (end) ---\n${b.log().slice(-chars)}`);
}

/** Metadata v12 of every topic (`topics` null) or of none ([]) from the broker on 127.0.0.1:`port` (PLAINTEXT). */
export async function metadataOf(port: number, topics: null | [] = null): Promise<MetadataResponse> {
  const c = await RawClient.connect(port);
  try {
    c.timeoutMs = 10_000;
    return await c.request<MetadataResponse>(3, 12, { topics, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  } finally {
    c.close();
  }
}

/**
 * Waits until every running broker's Metadata lists all `count` brokers, so that a topic created next is placed
 * over all of them (each broker's view learns the others' registrations through its etcd watch; a topic created
 * before could be refused INVALID_REPLICATION_FACTOR). A broker that does not answer a plain Metadata request (a
 * TLS or SASL first listener) is not waited for. {@link startCluster} does this before it returns.
 */
export async function waitForRegistrations(cluster: TestCluster, count = 3, timeoutMs = 60_000): Promise<void> {
  await until(`every broker to see ${count} registered brokers`, timeoutMs, async () => {
    for (const b of cluster.brokers) {
      if (b.child.exitCode !== null || b.child.signalCode !== null) continue;
      const md = await metadataOf(b.port, []).catch(() => null);
      if (md !== null && md.brokers.length < count) return false;
    }
    return true;
  });
}

/**
 * Creates `topic` with `partitions` partitions, replication factor 3 and min.insync.replicas=2 through `admin`
 * (connected) and waits until every ISR holds three replicas; answers the reader of its partitions' metadata.
 */
export async function createInSyncTopic(admin: Admin, topic: string, partitions: number): Promise<() => Promise<PartitionMetadata[]>> {
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }] });
  const read = async () => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions;
  await until(`every ISR of ${topic} to hold three replicas`, 60_000, async () => (await read()).every((p) => p.isr.length === 3));
  return read;
}

/**
 * Creates `topic` (one partition, replication factor 3, min.insync.replicas=2) with kafkajs, waits until all three
 * replicas are in its ISR and answers the leader's node id.
 */
export async function createReplicatedPartition(cluster: TestCluster, topic: string): Promise<number> {
  const admin = new Kafka({ clientId: `create-${topic}`, brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }] });
    const state = async () => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions[0];
    await until(`the ISR of ${topic}-0 to hold three replicas`, 60_000, async () => (await state()).isr.length === 3);
    return (await state()).leader;
  } finally {
    await admin.disconnect();
  }
}
