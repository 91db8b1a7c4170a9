/**
 * The local metadata store keeps the MetadataStore contract: a write is durable before it is visible, a failed
 * write changes nothing (view, watchers, file), versions only grow, watchers see every change in order, and
 * partition state changes go through compare-and-set on the partition epoch.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalMetadataStore, type MetadataChange, type PartitionStateRecord, type TopicRecord } from "../../src/cluster/metadata-store.ts";
import { nodeFileSystem, type FileSystem } from "../../src/platform/fs.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";

function topic(name: string, partitions = 2): TopicRecord {
  return { name, idHex: "00112233445566778899aabbccddeeff", partitions, replicationFactor: 1, configs: {}, createdAtMs: 1 };
}
function state(t: string, partition: number, partitionEpoch = 0): PartitionStateRecord {
  return { topic: t, partition, replicas: [1], leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch };
}
/** The real file system whose atomic file writes (blocking or not) fail with ENOSPC while `full` is set. */
function fillableFs(): { fs: FileSystem; disk: { full: boolean } } {
  const disk = { full: false };
  return {
    disk,
    fs: {
      ...nodeFileSystem,
      writeFileAtomic(p, data) {
        if (disk.full) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        nodeFileSystem.writeFileAtomic(p, data);
      },
      writeFileAtomicAsync(p, data, tag) {
        if (disk.full) return Promise.reject(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }));
        return nodeFileSystem.writeFileAtomicAsync(p, data, tag);
      },
    },
  };
}

test("writes are durable before visible, versioned, watched in order, and survive a reopen", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-meta-"));
  try {
    const store = new LocalMetadataStore(nodeFileSystem, dir);
    const seen: MetadataChange[] = [];
    const stop = store.watch((c) => {
      // A watcher runs after the view includes the change.
      if (c.kind === "topic") assert.equal(store.topic(c.name), c.value ?? undefined);
      seen.push(c);
    });
    assert.equal(store.version, 0);
    await store.createTopic(topic("a"), [state("a", 0), state("a", 1)]);
    assert.equal(store.version, 1);
    assert.deepEqual(store.topics().map((t) => t.name), ["a"]);
    assert.equal(store.partitionState("a", 1)?.leader, 1);
    await assert.rejects(store.createTopic(topic("a"), []), (e) => e instanceof KafkaError && e.code === ErrorCode.TOPIC_ALREADY_EXISTS);
    await store.updateTopic({ ...topic("a", 3), configs: { "retention.ms": "5" } }, [state("a", 2)]);
    assert.equal(store.version, 2);
    assert.deepEqual(seen.map((c) => [c.kind, c.version]), [["topic", 1], ["partition", 1], ["partition", 1], ["topic", 2], ["partition", 2]]);
    stop();
    await store.createTopic(topic("b", 1), [state("b", 0)]);
    assert.equal(seen.length, 5, "a removed watcher hears nothing more");

    const reopened = new LocalMetadataStore(nodeFileSystem, dir);
    assert.equal(reopened.version, 3);
    assert.deepEqual(reopened.topic("a")?.configs, { "retention.ms": "5" });
    assert.equal(reopened.partitionState("a", 2)?.partitionEpoch, 0);
    await reopened.deleteTopic("a");
    assert.equal(reopened.partitionState("a", 0), undefined, "a topic's partition states go with it");
    assert.ok(reopened.version > 3);
    await assert.rejects(reopened.deleteTopic("a"), (e) => e instanceof KafkaError && e.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a failed write rejects with KAFKA_STORAGE_ERROR and leaves view, watchers and file as they were", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-meta-"));
  try {
    const { fs: disk, disk: probe } = fillableFs();
    const store = new LocalMetadataStore(disk, dir);
    await store.createTopic(topic("keep"), [state("keep", 0), state("keep", 1)]);
    const seen: MetadataChange[] = [];
    store.watch((c) => seen.push(c));
    probe.full = true;
    const storageError = (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.KAFKA_STORAGE_ERROR && /ENOSPC/.test(e.message);
    await assert.rejects(store.createTopic(topic("new"), [state("new", 0)]), storageError);
    await assert.rejects(store.deleteTopic("keep"), storageError);
    await assert.rejects(store.compareAndSetPartition({ ...state("keep", 0, 1), leaderEpoch: 1 }, 0), storageError);
    assert.equal(store.topic("new"), undefined);
    assert.ok(store.topic("keep"));
    assert.equal(store.partitionState("keep", 0)?.partitionEpoch, 0);
    assert.equal(store.version, 1);
    assert.deepEqual(seen, []);
    probe.full = false;
    const reopened = new LocalMetadataStore(nodeFileSystem, dir);
    assert.deepEqual(reopened.topics().map((t) => t.name), ["keep"]);
    // The store goes on after a failure.
    await store.createTopic(topic("new"), [state("new", 0)]);
    assert.equal(store.version, 2);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("partition state changes by compare-and-set on the partition epoch", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-meta-"));
  try {
    const store = new LocalMetadataStore(nodeFileSystem, dir);
    await store.createTopic(topic("t", 1), [state("t", 0)]);
    const next = { ...state("t", 0, 1), leaderEpoch: 1, isr: [1] };
    // Two racers expect epoch 0: exactly one wins.
    const [a, b] = await Promise.all([store.compareAndSetPartition(next, 0), store.compareAndSetPartition({ ...next, leaderEpoch: 7 }, 0)]);
    assert.deepEqual([a, b], [true, false]);
    assert.equal(store.partitionState("t", 0)?.leaderEpoch, 1);
    assert.equal(store.partitionState("t", 0)?.partitionEpoch, 1);
    assert.equal(await store.compareAndSetPartition(state("t", 5, 1), 0), false, "no state for an unknown partition");
    await assert.rejects(store.compareAndSetPartition(state("t", 0, 9), 1), /must be 2/);
    assert.equal(new LocalMetadataStore(nodeFileSystem, dir).partitionState("t", 0)?.leaderEpoch, 1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("broker registrations are versioned and watched but not written to the file", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-meta-"));
  try {
    const store = new LocalMetadataStore(nodeFileSystem, dir);
    const seen: MetadataChange[] = [];
    store.watch((c) => seen.push(c));
    await store.registerBroker({ nodeId: 1, brokerEpoch: 1, rack: "r1", endpoints: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 9092, securityProtocol: "PLAINTEXT" }] });
    assert.deepEqual(store.brokers().map((b) => [b.nodeId, b.rack]), [[1, "r1"]]);
    await store.unregisterBroker(1);
    assert.deepEqual(seen.map((c) => [c.kind, c.version, c.value === null]), [["broker", 1, false], ["broker", 2, true]]);
    assert.equal(fs.existsSync(path.join(dir, "__runnel_metadata.json")), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
