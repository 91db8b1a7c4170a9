/**
 * A sharded node passes Fetch record data between threads as file slices: a shard answers its front's channel
 * with where the records lie (segment file path, device and inode, byte position, length), not the bytes, and the
 * front serves them through its own map of that file. A segment file replaced at its path (as compaction renames
 * its cleaned copy over it) between the shard's answer and the front's read makes the front ask for the bytes, and
 * the client gets the records the shard named, never the new file's bytes; a deleted segment stays readable
 * through a map taken before, cannot be mapped after, and a fetch of the deleted topic answers an error.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { Kafka, logLevel } from "kafkajs";
import type { BrokerChannel } from "../../src/client/connection.ts";
import { nodeFileSystem, fileIdentity } from "../../src/platform/fs.ts";
import { concatBytes } from "../../src/protocol/wire.ts";
import { decodeRecordSlices } from "../../src/storage/record-slices.ts";
import { SegmentMaps } from "../../src/shard/front/segment-maps.ts";
import { RawClient } from "../support/raw-client.ts";
import { fetchFromStartBody, recordsOf } from "../support/fetch-from-start.ts";
import { startFrontOverShards } from "./front-fixture.ts";

const VERSION = 12;

test("fetch records cross from shard to front as file slices; replaced or deleted segments never give other bytes", { timeout: 180_000 }, async () => {
  const node = await startFrontOverShards({ inThread: true });
  const kafka = new Kafka({ clientId: "slices", brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  const admin = kafka.admin();
  let raw: RawClient | null = null;
  const channels: BrokerChannel[] = [];
  try {
    await admin.connect();
    await producer.connect();
    const topics = ["slices", "replaced", "deleted"];
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 1 })), waitForLeaders: true });
    for (const topic of topics) {
      for (let b = 0; b < 4; b++) {
        await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${b}-${i}`, value: `${topic}-${b}-${i}-`.padEnd(4000, String.fromCharCode(97 + ((b + i) % 26))) })) });
      }
    }
    raw = await RawClient.connect(node.port);
    const client = (shard: number, fileSlices: boolean) => node.shards.open(shard, { remote: "test:1", principal: "User:ANONYMOUS", listenerName: "PLAINTEXT", clientId: "test", fileSlices }).then((c) => (channels.push(c), c));
    const shardFetch = async (topic: string, fileSlices: boolean) => {
      const ch = await client(node.ownerOf(topic, 0), fileSlices);
      return ch.request<any>(1, fetchFromStartBody(topic), { version: VERSION });
    };
    const maps = node.front.router.deps.segmentMaps;
    assert.ok(maps !== null && maps !== undefined, "the front reads file slices (Bun maps files)");

    // 1. The shard's answer to a slice channel names the segment file; the bytes there are the records.
    const bytes = recordsOf(await shardFetch("slices", false));
    assert.ok(bytes.length > 150_000, `records produced: ${bytes.length}`);
    const blob = recordsOf(await shardFetch("slices", true));
    assert.ok(blob.length < 1000, `the answer names the records instead of carrying them: ${blob.length} bytes`);
    const parts = decodeRecordSlices(blob);
    assert.equal(parts.length, 1);
    const slice = parts[0];
    assert.equal(slice.kind, "slice");
    if (slice.kind !== "slice") return;
    assert.match(slice.path, /\/slices-0\/00000000000000000000\.log$/);
    assert.deepEqual({ dev: slice.dev, ino: slice.ino }, fileIdentity(slice.path));
    assert.equal(slice.length, bytes.length);
    assert.deepEqual(new Uint8Array(fs.readFileSync(slice.path).subarray(slice.position, slice.position + slice.length)), bytes);

    // ...and the client of the front gets exactly those records, read through the front's own map.
    const servedBefore = maps.counts.served;
    assert.deepEqual(recordsOf(await raw.request(1, VERSION, fetchFromStartBody("slices"))), bytes);
    assert.ok(maps.counts.served > servedBefore, "the front served a slice");

    // 2. Replaced: the shard has read (mapped) the segment; then a different file is renamed over its path, as the
    // cleaner swaps in a compacted copy. The front cannot map the named inode at that path any more: it asks the
    // shard for the bytes, and the client gets the records the shard named, not the new file's.
    const original = recordsOf(await shardFetch("replaced", false));
    const named = decodeRecordSlices(recordsOf(await shardFetch("replaced", true)));
    assert.equal(named[0].kind, "slice");
    const segPath = (named[0] as { path: string }).path;
    const other = new Uint8Array(fs.readFileSync(segPath));
    other.fill(0x5a, 61); // the first batch header stays, what follows differs
    fs.writeFileSync(`${segPath}.swap`, other);
    fs.renameSync(`${segPath}.swap`, segPath);
    const refusedBefore = maps.counts.refused;
    assert.deepEqual(recordsOf(await raw.request(1, VERSION, fetchFromStartBody("replaced"))), original);
    assert.equal(maps.counts.refused, refusedBefore + 1, "the front refused the replaced file and asked for the bytes");

    // 3. Deleted: a map taken before the deletion still reads the named bytes; none can be taken after; the front
    // answers a fetch of the deleted topic with an error.
    const deletedBytes = recordsOf(await shardFetch("deleted", false));
    const deletedBlob = recordsOf(await shardFetch("deleted", true));
    const warm = new SegmentMaps(nodeFileSystem, () => 0, fileIdentity);
    const cold = new SegmentMaps(nodeFileSystem, () => 0, fileIdentity);
    assert.deepEqual(concatBytes(warm.resolve(deletedBlob)!), deletedBytes);
    const deletedPath = (decodeRecordSlices(deletedBlob)[0] as { path: string }).path;
    await admin.deleteTopics({ topics: ["deleted"] });
    for (let i = 0; fs.existsSync(deletedPath); i++) {
      assert.ok(i < 600, `${deletedPath} still there`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(concatBytes(warm.resolve(deletedBlob)!), deletedBytes, "the old file stays readable through its map");
    assert.equal(cold.resolve(deletedBlob), null, "a deleted file is not mapped by its old path");
    const gone = await raw.request(1, VERSION, fetchFromStartBody("deleted"));
    assert.equal(gone.responses[0].partitions[0].errorCode, 3, "UNKNOWN_TOPIC_OR_PARTITION");
  } finally {
    for (const c of channels) c.close();
    raw?.close();
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    await node.close();
  }
});
