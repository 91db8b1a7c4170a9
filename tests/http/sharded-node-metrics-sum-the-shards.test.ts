/**
 * /metrics of a sharded node (`runnel start --shards 2 --http ...`, docs/sharding.md): kcat produces to partitions
 * led by both shards and reads them back; the one page (parsed by prometheus_client) has each family once and each
 * series once, node-level counters summed over the shards (bytes and records in and out = what was produced, the
 * segment files on disk), every partition's log series from its owner, the fronts' request histograms merged
 * bucket by bucket, per-shard series with a `shard` label, and a group's lag right for partitions of the shard that
 * does not coordinate the group.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { havePrometheusParser, httpJson, parsePrometheus, sampleValue, type PromSample } from "../support/http-broker.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { readSomeAndLeave, startShardedHttpNode } from "../support/sharded-http-node.ts";
import { shardOf } from "../../src/shard/placement.ts";

const skip = !havePrometheusParser() ? "python3-prometheus-client is not installed (tests/setup.d/45-prometheus-parser.sh)" : !haveCommand("kcat") ? "kcat is not installed" : false;
const TOPIC = "sharded-metrics";
const SHARDS = 2;
const PARTITIONS = 6;
/** Records produced to partition p. */
const countOf = (p: number) => 5 + 3 * p;

function partitionBytes(dir: string, topic: string, p: number): number {
  const d = path.join(dir, `${topic}-${p}`);
  return fs.readdirSync(d).filter((f) => f.endsWith(".log")).reduce((n, f) => n + fs.statSync(path.join(d, f)).size, 0);
}

/** Asserts each TYPE line and each series appears once on the page. */
function assertNoDuplicates(text: string): void {
  const seen = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "" || (line.startsWith("#") && !line.startsWith("# TYPE "))) continue;
    const key = line.startsWith("#") ? line : line.slice(0, line.lastIndexOf(" "));
    assert.ok(!seen.has(key), `written twice: ${key}`);
    seen.add(key);
  }
}

test("a 2-shard node's /metrics sums the shards, passes partition series through and corrects group lag", { skip, timeout: 180_000 }, async () => {
  const partitions = PARTITIONS;
  const owners = new Set(Array.from({ length: partitions }, (_, p) => shardOf(TOPIC, p, SHARDS)));
  assert.equal(owners.size, SHARDS, "the topic's partitions are led by both shards");
  const { node, url, dir, stop } = await startShardedHttpNode(SHARDS);
  try {
    const scrape = async (): Promise<{ text: string; samples: PromSample[] }> => {
      const res = await fetch(`${url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      return { text, samples: parsePrometheus(text) };
    };
    assert.equal((await httpJson(`${url}/v1/topics`, "POST", { name: TOPIC, partitions })).status, 201);
    let total = 0;
    for (let p = 0; p < partitions; p++) {
      const lines = Array.from({ length: countOf(p) }, (_, i) => `p${p}-record-${i}-${"y".repeat(i % 17)}`);
      total += lines.length;
      const r = await runProc("kcat", ["-P", "-b", node.bootstrap, "-t", TOPIC, "-p", String(p), "-X", "acks=all"], { input: lines.join("\n") + "\n", timeoutMs: 30_000 });
      assert.equal(r.code, 0, r.stderr);
    }
    const c = await runProc("kcat", ["-C", "-b", node.bootstrap, "-t", TOPIC, "-e", "-q", "-f", "%p\n"], { timeoutMs: 30_000 });
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout.split("\n").filter(Boolean).length, total);

    const { text, samples: s } = await scrape();
    assertNoDuplicates(text);
    let onDisk = 0;
    for (let p = 0; p < partitions; p++) {
      const bytes = partitionBytes(dir, TOPIC, p);
      onDisk += bytes;
      const labels = { topic: TOPIC, partition: String(p) };
      assert.equal(sampleValue(s, "kafka_log_log_logendoffset", labels), countOf(p), `log end offset of partition ${p}`);
      assert.equal(sampleValue(s, "kafka_log_log_size", labels), bytes, `size of partition ${p}`);
    }
    assert.equal(sampleValue(s, "kafka_server_brokertopicmetrics_messagesin_total", { topic: TOPIC }), total);
    assert.equal(sampleValue(s, "kafka_server_brokertopicmetrics_bytesin_total", { topic: TOPIC }), onDisk, "bytes in = the topic's segment files");
    assert.equal(sampleValue(s, "kafka_server_brokertopicmetrics_messagesout_total", { topic: TOPIC }), total);
    assert.equal(sampleValue(s, "kafka_server_brokertopicmetrics_bytesout_total", { topic: TOPIC }), onDisk, "kcat read every batch once");
    // Node-level: the partitions of both shards (the topic's, plus any internal topic's).
    const logSeries = s.filter((x) => x.name === "kafka_log_log_size").length;
    assert.equal(sampleValue(s, "kafka_server_replicamanager_partitioncount"), logSeries);
    assert.equal(sampleValue(s, "kafka_server_replicamanager_leadercount"), logSeries);
    const perShard = [0, 1].map((k) => sampleValue(s, "runnel_shard_partitions", { shard: String(k) }));
    assert.equal(perShard[0] + perShard[1], logSeries);
    for (let k = 0; k < SHARDS; k++) {
      assert.equal(sampleValue(s, "runnel_shard_up", { shard: String(k) }), 1);
      assert.ok(sampleValue(s, "runnel_shard_requests_total", { shard: String(k), request: "Produce" }) >= 1, `shard ${k} got produces`);
      assert.ok(sampleValue(s, "runnel_shard_event_loop_lag_seconds", { shard: String(k) }) >= 0);
    }
    // The fronts' Produce requests: one per kcat batch, its histogram merged bucket by bucket.
    const produces = sampleValue(s, "kafka_network_requestmetrics_requests_total", { request: "Produce" });
    assert.ok(produces >= partitions, `${produces} Produce requests for ${partitions} kcat runs`);
    assert.equal(sampleValue(s, "kafka_network_requestmetrics_totaltimems_count", { request: "Produce" }), produces);
    assert.equal(sampleValue(s, "kafka_network_requestmetrics_totaltimems_bucket", { request: "Produce", le: "+Inf" }), produces);
    assert.ok(sampleValue(s, "kafka_server_socket_server_metrics_connection_creation_total", { listener: "PLAINTEXT" }) >= partitions + 1, "every kcat connection counted at a front");
    assert.ok(sampleValue(s, "process_resident_memory_bytes") > 1e6);
    assert.equal(s.filter((x) => x.name === "process_resident_memory_bytes").length, 1);

    // A group that consumed and stopped; then its offsets set to 1 everywhere, so every partition lags.
    await readSomeAndLeave(node.bootstrap, "stopped", TOPIC);
    const reset = await httpJson(`${url}/v1/groups/stopped/reset-offsets`, "POST", { topic: TOPIC, to: "offset", offset: 1, dryRun: false });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
    const after = (await scrape()).samples;
    const detail = await httpJson(`${url}/v1/groups/stopped`);
    assert.equal(detail.status, 200);
    let lag = 0;
    for (let p = 0; p < partitions; p++) {
      const labels = { consumergroup: "stopped", topic: TOPIC, partition: String(p) };
      assert.equal(sampleValue(after, "kafka_consumergroup_current_offset", labels), 1);
      assert.equal(sampleValue(after, "kafka_consumergroup_lag", labels), countOf(p) - 1, `lag of partition ${p} (shard ${shardOf(TOPIC, p, SHARDS)})`);
      const row = detail.body.offsets.find((r: { partition: number }) => r.partition === p);
      assert.deepEqual([row.committed, row.logEndOffset, row.lag], [1, countOf(p), countOf(p) - 1], `console row of partition ${p}`);
      lag += countOf(p) - 1;
    }
    assert.equal(detail.body.lag, lag);
    const listed = await httpJson(`${url}/v1/groups`);
    assert.equal(listed.body.groups.find((g: { groupId: string }) => g.groupId === "stopped").lag, lag);
  } finally {
    await stop();
  }
});
