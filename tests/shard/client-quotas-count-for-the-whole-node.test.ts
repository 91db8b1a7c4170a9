/**
 * Client quotas on a 2-shard node count for the node as one broker: a confluent-kafka producer with a
 * `producer_byte_rate` quota that writes to partitions on both shards is answered with a throttle time once its
 * bytes on the two shards together exceed the quota's burst, although each shard alone got less than it; so is a
 * confluent-kafka consumer with a `consumer_byte_rate` quota reading both partitions.
 *
 * Each partition holds about 60 KB and the burst is 64 KiB, so the two together are ~56 KiB over it: refilled at the
 * quota's 64 KiB/s only if the client's bytes on the two shards came more than ~850 ms apart. The consumer assigns
 * both partitions at offset 0 (no group join, no offset lookups per partition, a 100 ms long poll), so its fetches
 * read both partitions within tens of ms (librdkafka may still fetch one partition alone first).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { BrokerConfig } from "../../src/broker/config.ts";
import { startShardedNode } from "../../src/shard/sharded-node.ts";
import { RawClient } from "../support/raw-client.ts";
import { testLogger } from "../support/broker.ts";
import { topicOnTwoShards } from "./support.ts";
import { PYTHON, havePythonModule, runProc } from "../support/proc.ts";

const skip = (await havePythonModule("confluent_kafka")) ? false : "python module confluent_kafka is not installed (tests/setup.sh installs it as root)";
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "py_spread_client.py");
/** Bytes per second; with 2 windows of 1 s the burst is one second's worth, 64 KiB, and each shard gets ~60 KB. */
const QUOTA = 64 * 1024;

/** Checks a client's output shows a throttle time answered, none longer than the quota window (2 s). */
function assertThrottled(out: string): void {
  const throttles = [...out.matchAll(/throttle (\d+)/g)].map((m) => Number(m[1]));
  assert.ok(throttles.some((t) => t > 0), `no throttle time answered: ${out}`);
  assert.ok(throttles.every((t) => t <= 2000), `a throttle longer than the quota window: ${throttles}`);
}

test("a producer and a consumer spread over both shards are throttled by their node-wide byte-rate quotas", { skip, timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-node-quotas-"));
  const config = new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir], ["runnel.shards", "2"], ["quota.window.num", "2"], ["quota.window.size.seconds", "1"]]));
  const node = await startShardedNode(config, { logger: testLogger() });
  const c = await RawClient.connect(node.port());
  try {
    const alter = await c.request(49, 1, { entries: [{ entity: [{ entityType: "client-id", entityName: "spread" }], ops: [{ key: "producer_byte_rate", value: QUOTA, remove: false }] }], validateOnly: false });
    assert.deepEqual(alter.entries.map((e: { errorCode: number }) => e.errorCode), [0]);
    // Created after the quota: a shard that knows the topic knows the quota too (its metadata comes in order).
    const topic = await topicOnTwoShards(c, node.shards, "spread");
    const r = await runProc(PYTHON, [SCRIPT, "produce", `127.0.0.1:${node.port()}`, topic, "spread"], { timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /delivered 80/);
    assertThrottled(r.stdout);
    // Each shard alone got less than the burst; both together well over it.
    const dirs = await c.request(35, 4, { topics: [{ topic, partitions: [0, 1] }] });
    const sizes = dirs.results.flatMap((d: any) => d.topics.flatMap((t: any) => t.partitions.map((p: any) => Number(p.partitionSize))));
    assert.equal(sizes.length, 2, JSON.stringify(sizes));
    assert.ok(sizes.every((n: number) => n < QUOTA) && sizes[0] + sizes[1] > QUOTA + 48 * 1024, `partition sizes ${sizes}`);

    // consumer_byte_rate: the fetches of both partitions answer ~120 KB within tens of ms, more than the burst of 64 KiB.
    const reader = await c.request(49, 1, { entries: [{ entity: [{ entityType: "client-id", entityName: "reader" }], ops: [{ key: "consumer_byte_rate", value: QUOTA, remove: false }] }], validateOnly: false });
    assert.deepEqual(reader.entries.map((e: { errorCode: number }) => e.errorCode), [0]);
    // The quota reaches both shards' mirrors before a topic created after it.
    await topicOnTwoShards(c, node.shards, "after-reader-quota");
    const consumed = await runProc(PYTHON, [SCRIPT, "consume", `127.0.0.1:${node.port()}`, topic, "reader"], { timeoutMs: 90_000 });
    assert.equal(consumed.code, 0, consumed.stderr);
    assert.match(consumed.stdout, /consumed 80/);
    assertThrottled(consumed.stdout);
  } finally {
    c.close();
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
