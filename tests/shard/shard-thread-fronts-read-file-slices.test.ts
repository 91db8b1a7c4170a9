/**
 * The fronts in the shard threads (`runnel.shards.accept`) read Fetch records as file slices too, for the shard of
 * their own thread (reached inside the thread, src/shard/local-connection.ts) as for the other: 30 connections,
 * spread by the kernel over the main thread and the shard threads, each fetch every partition of a topic on both
 * shards and get the same bytes, and every shard-thread front served all of its clients' records as slices.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { BrokerConfig } from "../../src/broker/config.ts";
import { reusePortSupported } from "../../src/platform/net.ts";
import { startShardedNode } from "../../src/shard/sharded-node.ts";
import { RawClient } from "../support/raw-client.ts";
import { testLogger } from "../support/broker.ts";

const skip = reusePortSupported() ? false : "SKIPPED: SO_REUSEPORT listeners are used on Bun and on Deno on Linux only";
const CONNECTIONS = 30;
const PARTITIONS = 4;

test("shard threads' own fronts serve fetch records of both shards as file slices", { skip, timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-slices-accept-"));
  const config = new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["node.id", "5"], ["log.dirs", dir], ["runnel.shards", "2"], ["num.partitions", String(PARTITIONS)]]));
  const node = await startShardedNode(config, { logger: testLogger() });
  const clients: RawClient[] = [];
  try {
    const port = node.port();
    const kafka = new Kafka({ clientId: "slices-accept", brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "spread", numPartitions: PARTITIONS }], waitForLeaders: true });
    await admin.disconnect();
    const owners = Array.from({ length: PARTITIONS }, (_, p) => node.shards.metadata.partitionState("spread", p)!.leader);
    assert.deepEqual([...new Set(owners)].sort(), [0, 1], `partitions on both shards: ${owners}`);
    const producer = kafka.producer();
    await producer.connect();
    for (let p = 0; p < PARTITIONS; p++) {
      await producer.send({ topic: "spread", acks: -1, messages: Array.from({ length: 8 }, (_, i) => ({ partition: p, value: `p${p}-${i}-`.padEnd(2000, "v") })) });
    }
    await producer.disconnect();

    for (let i = 0; i < CONNECTIONS; i++) clients.push(await RawClient.connect(port));
    const before = await node.shards.frontSlices();
    const clientsBefore = await node.shards.frontClients();
    const seen = new Map<number, string>();
    for (const c of clients) {
      const res = await c.request(1, 12, {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 24, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: "spread", partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 })) }],
        forgottenTopicsData: [], rackId: "",
      });
      for (const p of res.responses[0].partitions) {
        assert.equal(p.errorCode, 0);
        const bytes = Buffer.from(p.records).toString("base64");
        assert.ok(p.records.length > 8 * 2000, `partition ${p.partitionIndex}: all records (${p.records.length} bytes)`);
        if (!seen.has(p.partitionIndex)) seen.set(p.partitionIndex, bytes);
        assert.equal(bytes, seen.get(p.partitionIndex), `partition ${p.partitionIndex}: the same bytes through every thread`);
      }
    }
    const byShards = (await node.shards.frontClients()).map((n, k) => n - clientsBefore[k]);
    const after = await node.shards.frontSlices();
    assert.ok(byShards.some((n) => n > 0), `no connection reached a shard thread: shards ${byShards}`);
    for (let k = 0; k < after.length; k++) {
      const b = before[k]!;
      const a = after[k]!;
      assert.ok(a !== null && b !== null, `shard ${k}'s front reads slices`);
      // Each of its new clients read every partition, its own shard's inside the thread and the other's over a
      // port, as one slice each.
      assert.equal(a.refused - b.refused, 0, `shard ${k}: no slice refused`);
      assert.equal(a.served - b.served, byShards[k] * PARTITIONS, `shard ${k}: ${byShards[k]} client(s) x ${PARTITIONS} partitions served as slices`);
    }
  } finally {
    for (const c of clients) c.close();
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
