/**
 * /metrics after a known workload: the page parses with Prometheus's own text-format parser (prometheus_client),
 * reports exactly the bytes and records produced (checked against the segment files on disk) and consumed, a
 * long-poll fetch in the fetch purgatory while it waits, the
 * exact number of requests per API and error code a raw client sent, and the lag of a consumer group that stopped
 * part-way (checked against the records the consumer saw).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startHttpTestBroker, havePrometheusParser, parsePrometheus, sampleValue, httpJson } from "../support/http-broker.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { RawClient } from "../support/raw-client.ts";
import { Consumer } from "../../src/client/consumer.ts";

const skip = !havePrometheusParser() ? "python3-prometheus-client is not installed (tests/setup.d/50-http-peers.sh)" : !haveCommand("kcat") ? "kcat is not installed" : false;
const TOPIC = "metrics-known";
const RECORDS = 300;

async function scrape(url: string) {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

function segmentBytes(dir: string, topic: string): number {
  let n = 0;
  for (const d of fs.readdirSync(dir)) {
    if (!d.startsWith(`${topic}-`)) continue;
    for (const f of fs.readdirSync(path.join(dir, d))) if (f.endsWith(".log")) n += fs.statSync(path.join(dir, d, f)).size;
  }
  return n;
}

test("/metrics reports exact traffic, request counts and a stopped group's lag", { skip, timeout: 120_000 }, async () => {
  const b = await startHttpTestBroker();
  try {
    assert.equal((await httpJson(`${b.url}/v1/topics`, "POST", { name: TOPIC, partitions: 3 })).status, 201);
    const lines = Array.from({ length: RECORDS }, (_, i) => `key-${i}:value-${i}-${"x".repeat(i % 50)}`);
    const p = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", TOPIC, "-K:", "-X", "acks=all", "-z", "lz4"], { input: lines.join("\n") + "\n", timeoutMs: 30_000 });
    assert.equal(p.code, 0, p.stderr);
    const c = await runProc("kcat", ["-C", "-b", b.bootstrap, "-t", TOPIC, "-e", "-q", "-f", "%k\n"], { timeoutMs: 30_000 });
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout.split("\n").filter(Boolean).length, RECORDS);

    let s = await scrape(b.url);
    const onDisk = segmentBytes(b.dir, TOPIC);
    assert.ok(onDisk > 0);
    assert.equal(sampleValue(s, "kafka_server_brokertopicmetrics_bytesin_total", { topic: TOPIC }), onDisk, "bytes in = bytes of the topic's segment files");
    assert.equal(sampleValue(s, "kafka_server_brokertopicmetrics_messagesin_total", { topic: TOPIC }), RECORDS);
    assert.equal(sampleValue(s, "kafka_server_brokertopicmetrics_bytesout_total", { topic: TOPIC }), onDisk, "kcat read every batch once");
    assert.equal(sampleValue(s, "kafka_server_brokertopicmetrics_messagesout_total", { topic: TOPIC }), RECORDS);
    let logSize = 0;
    for (let i = 0; i < 3; i++) logSize += sampleValue(s, "kafka_log_log_size", { topic: TOPIC, partition: String(i) });
    assert.equal(logSize, onDisk);
    let leo = 0;
    for (let i = 0; i < 3; i++) leo += sampleValue(s, "kafka_log_log_logendoffset", { topic: TOPIC, partition: String(i) });
    assert.equal(leo, RECORDS);
    assert.equal(sampleValue(s, "kafka_server_replicamanager_underreplicatedpartitions"), 0);
    assert.equal(sampleValue(s, "kafka_server_replicamanager_underminisrpartitioncount"), 0);
    assert.equal(sampleValue(s, "kafka_controller_kafkacontroller_offlinepartitionscount"), 0);
    assert.ok(sampleValue(s, "kafka_log_logflushstats_logflushrateandtimems_count") > 0, "acks=all produce fsynced");
    assert.ok(sampleValue(s, "process_resident_memory_bytes") > 1e6);
    assert.ok(sampleValue(s, "kafka_network_requestmetrics_totaltimems_count", { request: "Produce" }) >= 1);

    // A topic asking for 2 in-sync replicas of its one replica asks for all of them (Kafka's effectiveMinIsr): not under its min ISR.
    assert.equal((await httpJson(`${b.url}/v1/topics`, "POST", { name: "needs-two", partitions: 2, configs: { "min.insync.replicas": "2" } })).status, 201);
    assert.equal(sampleValue(await scrape(b.url), "kafka_server_replicamanager_underminisrpartitioncount"), 0);

    // Exact request counts: only this raw client talks to the broker between the two scrapes.
    const before = (api: string) => (s.some((x) => x.name === "kafka_network_requestmetrics_requests_total" && x.labels.request === api) ? sampleValue(s, "kafka_network_requestmetrics_requests_total", { request: api }) : 0);
    const errBefore = (api: string, error: string) => s.filter((x) => x.name === "kafka_network_requestmetrics_errors_total" && x.labels.request === api && x.labels.error === error).reduce((n, x) => n + x.value, 0);
    const base = { apiVersions: before("ApiVersions"), metadata: before("Metadata"), listOffsets: before("ListOffsets"), unknown: errBefore("ListOffsets", "UNKNOWN_TOPIC_OR_PARTITION") };
    const raw = await RawClient.connect(b.broker.port);
    try {
      for (let i = 0; i < 7; i++) await raw.request(18, 3, { clientSoftwareName: "raw", clientSoftwareVersion: "1" });
      for (let i = 0; i < 4; i++) await raw.request(3, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      for (let i = 0; i < 2; i++) {
        await raw.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: "no-such-topic", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
      }
    } finally {
      raw.close();
    }
    s = await scrape(b.url);
    assert.equal(sampleValue(s, "kafka_network_requestmetrics_requests_total", { request: "ApiVersions" }) - base.apiVersions, 7);
    assert.equal(sampleValue(s, "kafka_network_requestmetrics_requests_total", { request: "Metadata" }) - base.metadata, 4);
    assert.equal(sampleValue(s, "kafka_network_requestmetrics_requests_total", { request: "ListOffsets" }) - base.listOffsets, 2);
    assert.equal(sampleValue(s, "kafka_network_requestmetrics_errors_total", { request: "ListOffsets", error: "UNKNOWN_TOPIC_OR_PARTITION" }) - base.unknown, 2);

    // The fetch purgatory: a long poll at the log end is counted while it waits, and no longer once data arrives.
    const purgatory = async () => sampleValue(await scrape(b.url), "kafka_server_delayedoperationpurgatory_purgatorysize", { delayedOperation: "Fetch" });
    const purgatoryIs = async (n: number, what: string) => {
      const deadline = Date.now() + 30_000;
      for (let v = await purgatory(); v !== n; v = await purgatory()) {
        assert.ok(Date.now() < deadline, `fetch purgatory ${v}, waiting for ${n} (${what})`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // kcat's last long poll (fetch.wait.max.ms 500) outlives kcat itself: it leaves the purgatory when its wait ends.
    await purgatoryIs(0, "kcat's long polls expired");
    const poller = await RawClient.connect(b.broker.port);
    try {
      const leo0 = BigInt(sampleValue(s, "kafka_log_log_logendoffset", { topic: TOPIC, partition: "0" }));
      const waiting = poller.request(1, 12, {
        replicaId: -1, maxWaitMs: 30_000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId: "", forgottenTopicsData: [],
        topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: leo0, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      });
      await purgatoryIs(1, "the request reaches the broker and parks");
      const one = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", TOPIC, "-p", "0"], { input: "wake-up\n", timeoutMs: 30_000 });
      assert.equal(one.code, 0, one.stderr);
      const res = await waiting;
      assert.equal(res.responses[0].partitions[0].errorCode, 0);
      assert.equal(await purgatory(), 0);
    } finally {
      poller.close();
    }

    // A group that consumed part of the topic, committed and stopped.
    const consumer = new Consumer({ bootstrap: b.bootstrap, groupId: "stopped-part-way", autoOffsetReset: "earliest", enableAutoCommit: false, maxPollRecords: 40 });
    const lastSeen = new Map<number, number>();
    try {
      await consumer.connect();
      consumer.subscribe([TOPIC]);
      let got = 0;
      while (got === 0) {
        for (const r of await consumer.poll(1000)) {
          got++;
          lastSeen.set(r.partition, Math.max(lastSeen.get(r.partition) ?? -1, Number(r.offset)));
        }
      }
      await consumer.commit();
    } finally {
      await consumer.close();
    }
    assert.ok(lastSeen.size > 0);
    s = await scrape(b.url);
    const ends = [0, 1, 2].map((i) => sampleValue(s, "kafka_log_log_logendoffset", { topic: TOPIC, partition: String(i) }));
    let totalLag = 0;
    for (const [partition, last] of lastSeen) {
      const lag = sampleValue(s, "kafka_consumergroup_lag", { consumergroup: "stopped-part-way", topic: TOPIC, partition: String(partition) });
      assert.equal(lag, ends[partition] - (last + 1), `lag of partition ${partition}`);
      assert.equal(sampleValue(s, "kafka_consumergroup_current_offset", { consumergroup: "stopped-part-way", topic: TOPIC, partition: String(partition) }), last + 1);
      totalLag += lag;
    }
    assert.ok(totalLag > 0, "the group stopped before the end");
  } finally {
    await b.stop();
  }
});
