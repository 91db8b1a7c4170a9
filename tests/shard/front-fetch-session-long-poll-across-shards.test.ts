/**
 * Fetch at the front over two shards: a KIP-227 session kept by the front spans partitions of both shards; an
 * incremental fetch long-polling both answers as soon as the second shard gets a record (well before its max wait)
 * with only that partition, and later incremental fetches report only partitions with news. By name (v12) and by
 * topic id (v16). ApiVersions at the front lists exactly the shards' versions.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { RawClient } from "../support/raw-client.ts";
import { startFrontOverShards } from "./front-fixture.ts";

const MAX_WAIT_MS = 25_000;

test("a fetch session over both shards; a long poll answers when the second shard gets data", { timeout: 180_000 }, async () => {
  const node = await startFrontOverShards({ inThread: true });
  const kafka = new Kafka({ clientId: "lp", brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  let raw: RawClient | null = null;
  try {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "lp", numPartitions: 4 }], waitForLeaders: true });
    const md = await admin.fetchTopicMetadata({ topics: ["lp"] });
    await admin.disconnect();
    await producer.connect();
    const owners = [0, 1, 2, 3].map((p) => node.ownerOf("lp", p));
    const onFirst = owners.indexOf(0);
    const onSecond = owners.indexOf(1);
    assert.ok(onFirst >= 0 && onSecond >= 0, `partitions on both shards: ${owners}`);
    raw = await RawClient.connect(node.port);
    // The front advertises exactly the shards' versions.
    const apiVersions = async (c: { request(k: number, v: number, b: unknown): Promise<any> }) => (await c.request(18, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" })).apiKeys.map((k: any) => `${k.apiKey}:${k.minVersion}-${k.maxVersion}`);
    const shard0 = await node.openShard(0);
    const shardKeys = await apiVersions({ request: (k, v, b) => shard0.request(k, b, { version: v }) });
    shard0.close();
    assert.deepEqual(await apiVersions(raw), shardKeys);
    const topicId = (await raw.request(3, 12, { topics: [{ name: "lp", topicId: new Uint8Array(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).topics[0].topicId as Uint8Array;
    assert.equal(md.topics[0].partitions.length, 4);

    for (const version of [12, 16]) {
      const byId = version >= 13;
      const topicRef = byId ? { topicId } : { topic: "lp" };
      const part = (p: number, offset: bigint) => ({ partition: p, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 });
      const fetch = (sessionId: number, sessionEpoch: number, parts: { partition: number; fetchOffset: bigint }[], maxWaitMs: number) =>
        raw!.request(1, version, {
          replicaId: -1, maxWaitMs, minBytes: 1, maxBytes: 1 << 24, isolationLevel: 0, sessionId, sessionEpoch,
          topics: parts.length === 0 ? [] : [{ ...topicRef, partitions: parts.map((p) => part(p.partition, p.fetchOffset)) }],
          forgottenTopicsData: [], rackId: "",
        });
      const partsOf = (res: any) => res.responses.flatMap((t: any) => t.partitions.map((p: any) => ({ p: p.partitionIndex, bytes: (p.records?.length ?? 0) as number, hw: p.highWatermark as bigint, error: p.errorCode as number })));
      const base = (await endOffsets(kafka, "lp"));

      const opened = await fetch(0, 0, [{ partition: onFirst, fetchOffset: base[onFirst] }, { partition: onSecond, fetchOffset: base[onSecond] }], 0);
      assert.equal(opened.errorCode, 0);
      assert.ok(opened.sessionId > 0, "a session was opened");
      assert.deepEqual(partsOf(opened).map((x: any) => [x.p, x.error]).sort(), [[onFirst, 0], [onSecond, 0]].sort());

      // Incremental, nothing named: long-polls both shards; a record on the second shard's partition ends it.
      const started = Date.now();
      const waiting = fetch(opened.sessionId, 1, [], MAX_WAIT_MS);
      await producer.send({ topic: "lp", acks: -1, messages: [{ value: `v${version}`, partition: onSecond }] });
      const woke = await waiting;
      assert.ok(Date.now() - started < MAX_WAIT_MS, "answered before the max wait");
      assert.equal(woke.sessionId, opened.sessionId);
      const news = partsOf(woke);
      assert.equal(news.length, 1, `only the partition with news: ${JSON.stringify(news, (_, v) => (typeof v === "bigint" ? String(v) : v))}`);
      assert.equal(news[0].p, onSecond);
      assert.ok(news[0].bytes > 0);

      // The client moves on past that record; nothing else changed: an empty incremental answer.
      const quiet = await fetch(opened.sessionId, 2, [{ partition: onSecond, fetchOffset: base[onSecond] + 1n }], 0);
      assert.deepEqual(partsOf(quiet), []);
      // A record on the first shard: only that partition.
      await producer.send({ topic: "lp", acks: -1, messages: [{ value: `w${version}`, partition: onFirst }] });
      const next = await fetch(opened.sessionId, 3, [], 5_000);
      assert.deepEqual(partsOf(next).map((x: any) => x.p), [onFirst]);
      // A wrong epoch is refused, as a single broker does.
      assert.equal((await fetch(opened.sessionId, 9, [], 0)).errorCode, 71 /* INVALID_FETCH_SESSION_EPOCH */);
    }
  } finally {
    raw?.close();
    await producer.disconnect();
    await node.close();
  }
});

/** Each partition's end offset, by partition index. */
async function endOffsets(kafka: Kafka, topic: string): Promise<bigint[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out: bigint[] = [];
    for (const o of await admin.fetchTopicOffsets(topic)) out[o.partition] = BigInt(o.high);
    return out;
  } finally {
    await admin.disconnect();
  }
}
