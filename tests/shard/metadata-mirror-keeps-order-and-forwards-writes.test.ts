/**
 * A shard's metadata mirror over its link to the host's LocalMetadataStore: it starts from the snapshot, applies
 * every later change in version order (the changes of one write together, so a watcher told of a new topic already
 * sees its partition states), forwards its writes to the host's store and reads its own writes when they resolve;
 * a refused write comes back with its Kafka error code.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { LocalMetadataStore, type MetadataChange, type PartitionStateRecord, type TopicRecord } from "../../src/cluster/metadata-store.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { messagePortPair } from "../../src/platform/worker.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { MetadataMirror, serveMetadata } from "../../src/shard/metadata-mirror.ts";
import { ShardLink } from "../../src/shard/shard-link.ts";
import { tempDataDir } from "./support.ts";

const topic = (name: string, partitions: number): TopicRecord => ({ name, idHex: "00".repeat(15) + "01", partitions, replicationFactor: 1, configs: {}, createdAtMs: 1 });
const states = (name: string, n: number): PartitionStateRecord[] => Array.from({ length: n }, (_, p) => ({ topic: name, partition: p, replicas: [p % 2], isr: [p % 2], leader: p % 2, leaderEpoch: 0, partitionEpoch: 0 }));

test("the mirror starts from the snapshot, follows changes in order, forwards writes and reads its own", { timeout: 30_000 }, async () => {
  const dir = tempDataDir();
  const store = new LocalMetadataStore(nodeFileSystem, dir);
  await store.createTopic(topic("before", 2), states("before", 2));
  const [hostPort, shardPort] = messagePortPair();
  const hostLink = new ShardLink(hostPort);
  const stop = serveMetadata(store, hostLink, (op) => Promise.reject(new Error(`no ${op} here`)));
  const shardLink = new ShardLink(shardPort);
  const mirror = await MetadataMirror.open(shardLink);
  try {
    assert.equal(mirror.version, store.version);
    assert.deepEqual(mirror.topic("before"), store.topic("before"));
    assert.deepEqual(mirror.partitionState("before", 1), store.partitionState("before", 1));

    const seen: MetadataChange[] = [];
    const statesAtTopic: (PartitionStateRecord | undefined)[] = [];
    mirror.watch((c) => {
      seen.push(c);
      if (c.kind === "topic" && c.value !== null) statesAtTopic.push(mirror.partitionState(c.name, 2));
    });

    // A write through the mirror lands in the host's store and is visible in the mirror when it resolves.
    await mirror.createTopic(topic("orders", 3), states("orders", 3));
    assert.deepEqual(store.topic("orders")?.partitions, 3);
    assert.deepEqual(mirror.partitionState("orders", 2), store.partitionState("orders", 2));
    assert.deepEqual(statesAtTopic, [store.partitionState("orders", 2)], "the watcher saw the topic with its partition states in place");

    // Writes by someone else (the host itself) arrive too, in version order.
    const s0 = store.partitionState("orders", 0)!;
    assert.equal(await store.compareAndSetPartition({ ...s0, leaderEpoch: 1, partitionEpoch: 1 }, 0), true);
    await store.deleteTopic("before");
    await mirror.putConfigRecord({ resource: "broker", name: "", configs: { "log.retention.ms": "1000" } });
    assert.equal(mirror.topic("before"), undefined);
    assert.equal(mirror.partitionState("orders", 0)?.leaderEpoch, 1);
    assert.deepEqual(mirror.configRecord("broker", "")?.configs, { "log.retention.ms": "1000" });
    assert.equal(mirror.version, store.version);
    const versions = seen.map((c) => c.version);
    assert.deepEqual(versions, [...versions].sort((a, b) => a - b), "changes arrive in version order");
    assert.deepEqual(seen.map((c) => c.kind), ["topic", "partition", "partition", "partition", "partition", "partition", "partition", "topic", "config"]);

    // Refusals keep their Kafka error code; a lost compare-and-set is false, not an error.
    await assert.rejects(mirror.createTopic(topic("orders", 1), states("orders", 1)), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.TOPIC_ALREADY_EXISTS);
    assert.equal(await mirror.compareAndSetPartition({ ...s0, leaderEpoch: 2, partitionEpoch: 1 }, 0), false);
    await mirror.registerBroker({ nodeId: 1, brokerEpoch: 7, rack: null, endpoints: [] });
    assert.equal(mirror.broker(1)?.brokerEpoch, 7);
    assert.equal(store.broker(1)?.brokerEpoch, 7);
  } finally {
    stop();
    shardLink.close();
    hostLink.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
