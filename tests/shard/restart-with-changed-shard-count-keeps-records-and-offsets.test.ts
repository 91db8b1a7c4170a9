/**
 * One data dir through a node of 2 shards, then 3 shards, then a single broker (runnel.shards=1), each a restart:
 * every record acknowledged before stays readable, every committed group offset stays committed, and partitions
 * (the topic's and __consumer_offsets') move to their owner under the new count (the host rewrites the placement
 * at start; the single broker takes them all back). The per-shard checkpoint files are merged into the new layout.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { Admin } from "../../src/client/admin.ts";
import { Producer } from "../../src/client/producer.ts";
import { Consumer, type ConsumerRecord } from "../../src/client/consumer.ts";
import type { ClusterOptions } from "../../src/client/cluster-metadata.ts";
import { shardOf } from "../../src/shard/placement.ts";
import type { FrontShards } from "../../src/shard/front/front-shards.ts";
import { Broker } from "../../src/broker/broker.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { shardDialer, startShards, tempDataDir } from "./support.ts";

const TOPIC = "ledger";
const PARTITIONS = 6;

async function produce(opts: ClusterOptions, from: number, to: number): Promise<void> {
  const p = new Producer({ ...opts, enableIdempotence: true, lingerMs: 1 });
  await p.connect();
  await Promise.all(Array.from({ length: to - from }, (_, i) => p.send({ topic: TOPIC, partition: (from + i) % PARTITIONS, value: `r${from + i}` })));
  await p.close();
}

async function readAll(opts: ClusterOptions, n: number): Promise<string[]> {
  const c = new Consumer({ ...opts, autoOffsetReset: "earliest", fetchMaxWaitMs: 50 });
  await c.connect();
  c.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition })));
  const got: ConsumerRecord[] = [];
  const deadline = Date.now() + 60_000;
  while (got.length < n && Date.now() < deadline) got.push(...(await c.poll(200)));
  await c.close();
  return got.map((r) => new TextDecoder().decode(r.value!)).sort();
}

const expected = (n: number) => Array.from({ length: n }, (_, i) => `r${i}`).sort();

async function committed(admin: Admin): Promise<bigint[]> {
  const offs = await admin.groupOffsets("auditors", [{ topic: TOPIC, partitions: Array.from({ length: PARTITIONS }, (_, p) => p) }]);
  return offs.sort((a, b) => a.partition - b.partition).map((o) => o.offset);
}

test("2 shards -> 3 shards -> 1 broker on one data dir keeps every record and committed offset", { timeout: 240_000 }, async () => {
  const dir = tempDataDir();
  try {
    // Two shards (worker threads): create, produce, commit.
    let set = await startShards(dir, 2, false);
    const front: FrontShards = set; // what the front builds on
    assert.equal(front.count, 2);
    let opts: ClusterOptions = { bootstrap: "shard-0:9092", dial: shardDialer(set) };
    let admin = new Admin(opts);
    await admin.connect();
    await admin.createTopics([{ name: TOPIC, numPartitions: PARTITIONS }]);
    await produce(opts, 0, 300);
    await admin.commitGroupOffsets("auditors", Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition, offset: BigInt(10 + partition) })));
    assert.deepEqual(await committed(admin), [10n, 11n, 12n, 13n, 14n, 15n]);
    await admin.close();
    await set.stop();
    assert.ok(fs.readdirSync(dir).includes("recovery-point-offset-checkpoint.shard_1"), "each shard keeps its own root checkpoint");

    // Three shards: partitions moved to their owners under 3, everything still there; produce and commit more.
    set = await startShards(dir, 3, false);
    for (let p = 0; p < PARTITIONS; p++) assert.deepEqual(set.metadata.partitionState(TOPIC, p)?.replicas, [shardOf(TOPIC, p, 3)]);
    assert.ok(Array.from({ length: 4 }, (_, p) => set.metadata.partitionState("__consumer_offsets", p)?.leader).every((l, p) => l === shardOf("__consumer_offsets", p, 3)));
    opts = { bootstrap: "shard-2:9092", dial: shardDialer(set) };
    admin = new Admin(opts);
    await admin.connect();
    assert.deepEqual(await readAll(opts, 300), expected(300));
    assert.deepEqual(await committed(admin), [10n, 11n, 12n, 13n, 14n, 15n]);
    await produce(opts, 300, 450);
    await admin.commitGroupOffsets("auditors", [{ topic: TOPIC, partition: 5, offset: 70n }]);
    await admin.close();
    await set.stop();
    assert.ok(fs.readdirSync(dir).includes("recovery-point-offset-checkpoint.shard_2"));

    // A single broker (no shards) on the same dir: it takes every partition back.
    const settings = { "listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": dir, "offsets.topic.num.partitions": "4" };
    const single = await Broker.start(new BrokerConfig(new Map(Object.entries(settings))), { logger: { info: () => {}, warn: () => {}, error: (m) => console.error(m) } });
    try {
      const nodeOpts = { bootstrap: `127.0.0.1:${single.port}` };
      const plainAdmin = new Admin(nodeOpts);
      await plainAdmin.connect();
      const [info] = await plainAdmin.describeTopics([TOPIC]);
      assert.deepEqual(info.partitions.map((p) => p.leader), Array(PARTITIONS).fill(single.nodeId));
      assert.deepEqual(await readAll(nodeOpts, 450), expected(450));
      assert.deepEqual(await committed(plainAdmin), [10n, 11n, 12n, 13n, 14n, 70n]);
      await plainAdmin.close();
    } finally {
      await single.stop();
    }
    assert.ok(!fs.readdirSync(dir).some((n) => n.includes(".shard_")), "a single broker merged the shards' root files into its own");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
