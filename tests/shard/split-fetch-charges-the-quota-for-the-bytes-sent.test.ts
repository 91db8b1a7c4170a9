/**
 * A `consumer_byte_rate` quota on a 2-shard node (`runnel start --shards 2`) is charged for the record bytes the
 * client receives, not for what the shards read: a kafkajs consumer reads two partitions, one on each shard, each
 * holding one batch of ~S bytes, with `maxBytes` 1.5 S. Its first Fetch gets both batches from the shards and the
 * front sends one (the other is past `max_bytes`; the client fetches it next). Charged by the shards, that fetch cost
 * 2 S and the whole read 3 S for the 2 S delivered. With `minBytes` 3 S the first round's 2 S is too little, the
 * front long-polls both shards and answers with the first polled answer: the shards charged the first round and
 * the polled answers again (3-4 S for 2 S).
 *
 * The quota is a token bucket (src/security/quota-rate.ts) whose burst, `quota.window.num` - 1 windows of
 * `quota.window.size.seconds` at the quota's rate, is set just above the 2 S on the disk, so the consumer is never
 * throttled. A probe Fetch of the same user then reads partition 0 again (~S bytes, one shard) and its throttle time
 * says how much was charged: at most (delivered + probe - burst) / quota, since time only refills the bucket, and at
 * least that minus the time the test took. Charged for 3 S, it would be ~S / quota (here ~30 s) above.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";
import { startBrokerProcess } from "../support/broker-process.ts";
import { RawClient } from "../support/raw-client.ts";
import { shardOf } from "../../src/shard/placement.ts";

/** Quota window: with 2 windows the burst is one window of the quota's rate. */
const WINDOW_S = 60;
const RECORDS = 100;
const VALUE_BYTES = 2000;
/** About the bytes of one partition's batch. */
const S = RECORDS * VALUE_BYTES;

/** Reads a topic with a batch on each shard with a kafkajs consumer of `fetch` options; checks the probe's throttle. */
async function readAndProbe(fetch: { maxBytes: number; minBytes: number; maxWaitTimeInMs: number }): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-split-fetch-quota-"));
  const node = await startBrokerProcess("bun", ["--port", "0", "--data-dir", dir, "--shards", "2", "-o", "quota.window.num=2", "-o", `quota.window.size.seconds=${WINDOW_S}`, "-o", "group.initial.rebalance.delay.ms=0"], 90_000);
  const raw = await RawClient.connect(node.port);
  const kafka = new Kafka({ clientId: "split-reader", brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: "split-reader", maxBytesPerPartition: fetch.maxBytes, ...fetch });
  try {
    const topic = "split";
    const created = await raw.request(19, 7, { topics: [{ name: topic, numPartitions: 2, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, 0);
    assert.notEqual(shardOf(topic, 0, 2), shardOf(topic, 1, 2), "the partitions are on different shards");
    const producer = kafka.producer();
    await producer.connect();
    // One send: one batch per partition.
    await producer.send({ topic, messages: [0, 1].flatMap((partition) => Array.from({ length: RECORDS }, () => ({ partition, value: randomBytes(VALUE_BYTES) }))) });
    await producer.disconnect();
    const dirs = await raw.request(35, 4, { topics: [{ topic, partitions: [0, 1] }] });
    const sizes: number[] = dirs.results.flatMap((d: any) => d.topics.flatMap((t: any) => t.partitions.map((p: any) => Number(p.partitionSize))));
    assert.equal(sizes.length, 2, JSON.stringify(sizes));
    const onDisk = sizes[0] + sizes[1];
    // Burst = quota x WINDOW_S, just above what the consumer will get.
    const quota = Math.ceil(onDisk / WINDOW_S);
    const burst = quota * WINDOW_S;
    const alter = await raw.request(49, 1, { entries: [{ entity: [{ entityType: "user", entityName: null }], ops: [{ key: "consumer_byte_rate", value: quota, remove: false }] }], validateOnly: false });
    assert.deepEqual(alter.entries.map((e: { errorCode: number }) => e.errorCode), [0]);

    const started = performance.now();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let got = 0;
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        eachBatch: async ({ batch }) => {
          got += batch.messages.length;
          if (got >= 2 * RECORDS) resolve();
        },
      }).catch(reject);
    });
    assert.equal(got, 2 * RECORDS);
    // The probe: partition 0 again (one shard), as the same user.
    const probe = await raw.request(1, 11, { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 4 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 4 << 20 }] }], forgottenTopicsData: [], rackId: "" });
    const tookMs = performance.now() - started;
    const probed = (probe.responses[0].partitions[0].records as Uint8Array).length;
    assert.equal(probed, sizes[0], "the probe reads partition 0 whole");
    // Every batch reached the consumer once: it got the bytes on disk.
    const upper = Math.ceil(((onDisk + probed - burst) * 1000) / quota);
    const lower = upper - tookMs - 2;
    const t = probe.throttleTimeMs;
    assert.ok(upper > 0 && upper < 2 * WINDOW_S * 1000, `expected throttle ${upper} ms within the quota window`);
    assert.ok(t <= upper + 1, `throttle ${t} ms: charged ~${Math.round(((t - upper) * quota) / 1000)} bytes more than the ${onDisk + probed} sent (quota ${quota} B/s, burst ${burst})`);
    assert.ok(t >= lower, `throttle ${t} ms below ${lower}: charged less than the ${onDisk + probed} bytes sent`);
  } finally {
    raw.close();
    await consumer.disconnect().catch(() => {});
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("a Fetch split over two shards charges consumer_byte_rate for the bytes sent, not for records dropped past max_bytes", { timeout: 180_000 }, () =>
  readAndProbe({ maxBytes: 1.5 * S, minBytes: 1, maxWaitTimeInMs: 100 }));

test("a Fetch split over two shards that long-polls for min_bytes charges consumer_byte_rate once for the bytes sent", { timeout: 180_000 }, () =>
  readAndProbe({ maxBytes: 4 * S, minBytes: 3 * S, maxWaitTimeInMs: 300 }));
