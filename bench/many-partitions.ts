/**
 * Many partitions under a small open-files limit (issue 16): starts the broker under `prlimit --nofile=LIMIT`,
 * creates one topic with PARTITIONS partitions, produces one record to every partition with acks=all and fetches
 * every one back (plain Produce v9 and Fetch v12 requests of 5,000 partitions each), sampling the broker's open
 * descriptors and RSS. The target is 50,000 partitions under a 20,000 descriptor limit (log.open.files.max bounds
 * the log files). tests/broker/many-partitions-under-low-fd-limit.test.ts does 3,000 under 1,024 with confluent-kafka.
 *
 * Usage: bun bench/many-partitions.ts [--partitions 50000] [--limit 20000] [--dir /dev/shm]
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { printTable, ROOT, writeResults } from "./support.ts";
import { RawClient } from "../tests/support/raw-client.ts";
import { BatchBuilder } from "../src/protocol/record-batch.ts";
import { initCrc32c } from "../src/protocol/crc32c.ts";
import type { CreateTopicsResponse } from "../src/protocol/generated/19_create_topics.ts";
import type { ProduceResponse } from "../src/protocol/generated/00_produce.ts";
import type { FetchResponse } from "../src/protocol/generated/01_fetch.ts";

await initCrc32c();

const { values } = parseArgs({
  options: {
    partitions: { type: "string", default: "50000" },
    limit: { type: "string", default: "20000" },
    dir: { type: "string", default: fs.existsSync("/dev/shm") ? "/dev/shm" : "/tmp" },
  },
});
const partitions = Number(values.partitions);
const limit = Number(values.limit);
const dataDir = fs.mkdtempSync(path.join(values.dir!, "runnel-bench-partitions-"));
const binary = path.join(ROOT, "dist/runnel");
const cmd = fs.existsSync(binary) ? [binary, "start"] : [path.join(ROOT, "node_modules/.bin/bun"), path.join(ROOT, "src/cli/main.ts"), "start"];
const broker = spawn("prlimit", [`--nofile=${limit}:${limit}`, ...cmd, "--port", "0", "--data-dir", dataDir, "-o", "auto.create.topics.enable=false"], { stdio: ["ignore", "ignore", "pipe"] });
let log = "";
const port = await new Promise<number>((resolve, reject) => {
  broker.stderr!.on("data", (d) => {
    log += d.toString();
    const m = /listening on \w+:\/\/[^:\s]+:(\d+)/.exec(log);
    if (m) resolve(Number(m[1]));
  });
  broker.on("exit", () => reject(new Error(`broker exited:\n${log}`)));
});
let peakFds = 0;
let peakRssMiB = 0;
const sample = () => {
  try {
    peakFds = Math.max(peakFds, fs.readdirSync(`/proc/${broker.pid}/fd`).length);
    const rss = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${broker.pid}/status`, "utf8"));
    if (rss) peakRssMiB = Math.max(peakRssMiB, Number(rss[1]) / 1024);
  } catch {
    // the broker is gone
  }
};
const sampler = setInterval(sample, 200);
const started = performance.now();
const CHUNK = 5000;
const conn = await RawClient.connect(port);
const phases: Record<string, number> = {};
let ok = true;
let problem = "";
try {
  let t = performance.now();
  const created = await conn.request<CreateTopicsResponse>(19, 7, {
    topics: [{ name: "wide", numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 600_000, validateOnly: false,
  });
  const topicId = created.topics[0].topicId;
  if (created.topics[0].errorCode !== 0) throw new Error(`CreateTopics: error ${created.topics[0].errorCode} ${created.topics[0].errorMessage}`);
  phases.createSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const bb = new BatchBuilder(1 << 12);
  for (let from = 0; from < partitions; from += CHUNK) {
    const partitionData = [];
    for (let p = from; p < Math.min(partitions, from + CHUNK); p++) {
      bb.reset({});
      bb.append(Date.now(), null, new TextEncoder().encode(`value-${p}`));
      partitionData.push({ index: p, records: bb.finish().slice() });
    }
    const res = await conn.request<ProduceResponse>(0, 9, { transactionalId: null, acks: -1, timeoutMs: 600_000, topicData: [{ name: "wide", topicId, partitionData }] });
    for (const pr of res.responses[0].partitionResponses) if (pr.errorCode !== 0) throw new Error(`produce to ${pr.index}: error ${pr.errorCode}`);
  }
  phases.produceSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  let read = 0;
  for (let from = 0; from < partitions; from += CHUNK) {
    const ps = [];
    for (let p = from; p < Math.min(partitions, from + CHUNK); p++) ps.push({ partition: p, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1024 });
    const res = await conn.request<FetchResponse>(1, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 64 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: "wide", topicId, partitions: ps }], forgottenTopicsData: [], rackId: "",
    });
    for (const r of res.responses) for (const p of r.partitions) if (p.errorCode === 0 && p.records !== null && p.records.length > 0) read++;
  }
  phases.fetchSeconds = (performance.now() - t) / 1000;
  if (read !== partitions) throw new Error(`fetched records from ${read} of ${partitions} partitions`);
} catch (e) {
  ok = false;
  problem = (e as Error).message;
  console.error((e as Error).stack, log.slice(-1500));
} finally {
  conn.close();
}
const seconds = (performance.now() - started) / 1000;
sample();
clearInterval(sampler);
const emfile = (log.match(/EMFILE/g) ?? []).length;
broker.kill("SIGTERM");
await new Promise((r) => broker.on("exit", r));
fs.rmSync(dataDir, { recursive: true, force: true });
const result = { partitions, fdLimit: limit, ok, problem, ...Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Number(v.toFixed(1))])), seconds: Number(seconds.toFixed(1)), peakFds, peakRssMiB: Math.round(peakRssMiB), emfileErrors: emfile, budget: /at most (\d+) log files/.exec(log)?.[1] };
console.log(`results: ${writeResults("many-partitions", result)}`);
printTable("many partitions under an fd limit", [Object.fromEntries(Object.entries(result).map(([k, v]) => [k, String(v)]))]);
process.exit(ok && emfile === 0 ? 0 : 1);
