/**
 * Client quotas: `kafka-configs --alter --entity-type clients --add-config producer_byte_rate=...` (Kafka 4.4's
 * tool, AlterClientQuotas) limits kcat producing with that client id to about 1 MB/s (within generous bounds over
 * ~10 s, with KIP-219 throttle times and muting) while a concurrent unthrottled kcat producer keeps a far higher
 * rate; `--describe` reads the quota back (DescribeClientQuotas); a fetch over a consumer_byte_rate quota carries a
 * throttle time; quota keys Runnel does not enforce are refused. A kcat consumer limited by consumer_byte_rate to
 * 1 MB/s is held near it over ~10 s while a concurrent unthrottled kcat consumer is not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { KAFKA_TOOL, javaSkip, startToolSession } from "../support/java.ts";

const skip = javaSkip || (haveCommand("kcat") ? false : "kcat is not installed (tests/setup.sh installs it as root)");
const QUOTA = 1024 * 1024;

test("a producer limited to 1 MB/s is held near it while an unthrottled one is not", { skip, timeout: 180_000 }, async () => {
  const b = await startTestBroker({ "quota.window.num": "2", "quota.window.size.seconds": "1" });
  const tools = startToolSession();
  try {
    const set = await tools.run(KAFKA_TOOL.configs, ["--bootstrap-server", b.bootstrap, "--alter", "--entity-type", "clients", "--entity-name", "slow", "--add-config", `producer_byte_rate=${QUOTA}`]);
    assert.equal(set.code, 0, set.stderr);
    const shown = await tools.run(KAFKA_TOOL.configs, ["--bootstrap-server", b.bootstrap, "--describe", "--entity-type", "clients", "--entity-name", "slow"]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /producer_byte_rate=1048576/);
    await b.broker.createTopic("slow", 1, 1, {}, false);
    await b.broker.createTopic("fast", 1, 1, {}, false);
    const line = "x".repeat(999);
    const records = (n: number) => Array.from({ length: n }, () => line).join("\n") + "\n";
    const produce = async (clientId: string, n: number) => {
      const start = performance.now();
      const r = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", clientId, "-X", `client.id=${clientId}`, "-X", "acks=1", "-X", "linger.ms=5"], { input: records(n), timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
      return (n * 1000) / ((performance.now() - start) / 1000);
    };
    const [slow, fast] = await Promise.all([produce("slow", 11_000), produce("fast", 40_000)]);
    // Over the wire (ListOffsets, latest), so the test runs against a sharded node too.
    const reader = await RawClient.connect(b.port);
    const latest = await reader.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: "slow", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    reader.close();
    assert.equal(Number(latest.topics[0].partitions[0].offset), 11_000, "every throttled record was written");
    assert.ok(slow >= QUOTA * 0.8 && slow <= QUOTA * 1.25, `throttled producer at ${(slow / QUOTA).toFixed(2)} MB/s, expected about 1`);
    assert.ok(fast >= QUOTA * 3, `unthrottled producer at ${(fast / QUOTA).toFixed(2)} MB/s`);

    // consumer_byte_rate: a fetch over the quota is answered with a throttle time; unknown keys are refused.
    const c = await RawClient.connect(b.port);
    const alter = await c.request(49, 1, { entries: [
      { entity: [{ entityType: "client-id", entityName: "raw-test" }], ops: [{ key: "consumer_byte_rate", value: 100_000, remove: false }] },
      { entity: [{ entityType: "user", entityName: null }], ops: [{ key: "no_such_rate", value: 50, remove: false }] },
    ], validateOnly: false });
    assert.deepEqual(alter.entries.map((e: { errorCode: number }) => e.errorCode), [0, 42]);
    const fetch = await c.request(1, 12, { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 4 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: "fast", partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 4 << 20 }] }], forgottenTopicsData: [], rackId: "" });
    assert.ok(fetch.throttleTimeMs > 0, `throttle ${fetch.throttleTimeMs}`);
    const quotas = await c.request(48, 1, { components: [{ entityType: "client-id", matchType: 2, match: null }], strict: true });
    const described = new Map(quotas.entries.map((e: { entity: Array<{ entityName: string }>; values: Array<{ key: string; value: number }> }) => [e.entity[0].entityName, e.values.map((v) => `${v.key}=${v.value}`).join(",")]));
    assert.deepEqual(described, new Map([["slow", `producer_byte_rate=${QUOTA}`], ["raw-test", "consumer_byte_rate=100000"]]));
    c.close();
  } finally {
    await tools.close();
    await b.stop();
  }
});

test("a consumer limited to 1 MB/s is held near it while an unthrottled one is not", { skip, timeout: 180_000 }, async () => {
  const b = await startTestBroker({ "quota.window.num": "2", "quota.window.size.seconds": "1" });
  const tools = startToolSession();
  try {
    const set = await tools.run(KAFKA_TOOL.configs, ["--bootstrap-server", b.bootstrap, "--alter", "--entity-type", "clients", "--entity-name", "slow-reader", "--add-config", `consumer_byte_rate=${QUOTA}`]);
    assert.equal(set.code, 0, set.stderr);
    const line = "y".repeat(999);
    const counts = { slow: 11_000, fast: 40_000 };
    for (const [topic, n] of Object.entries(counts)) {
      await b.broker.createTopic(topic, 1, 1, {}, false);
      const r = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", topic, "-X", "acks=1", "-X", "linger.ms=5"], { input: Array.from({ length: n }, () => line).join("\n") + "\n", timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
    }
    const consume = async (topic: "slow" | "fast", clientId: string) => {
      const start = performance.now();
      const r = await runProc("kcat", ["-C", "-b", b.bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-c", String(counts[topic]), "-f", "%S\n", "-X", `client.id=${clientId}`, "-X", "max.partition.fetch.bytes=262144"], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
      const sizes = r.stdout.split("\n").filter((l) => l !== "");
      assert.equal(sizes.length, counts[topic], `${clientId} read every record`);
      return (sizes.length * 1000) / ((performance.now() - start) / 1000);
    };
    const [slow, fast] = await Promise.all([consume("slow", "slow-reader"), consume("fast", "fast-reader")]);
    assert.ok(slow >= QUOTA * 0.8 && slow <= QUOTA * 1.25, `throttled consumer at ${(slow / QUOTA).toFixed(2)} MB/s, expected about 1`);
    assert.ok(fast >= QUOTA * 3, `unthrottled consumer at ${(fast / QUOTA).toFixed(2)} MB/s`);
  } finally {
    await tools.close();
    await b.stop();
  }
});
