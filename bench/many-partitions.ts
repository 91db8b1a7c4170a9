/**
 * Many partitions under a small open-files limit (issue 16): starts the broker under `prlimit --nofile=LIMIT`,
 * creates one topic with PARTITIONS partitions, produces one record to every partition with acks=all and reads every
 * one back with confluent-kafka (tests/broker/many_partitions.py), sampling the broker's open descriptors and RSS.
 * The target is 50,000 partitions under a 20,000 descriptor limit (log.open.files.max bounds the log files).
 *
 * Usage: bun bench/many-partitions.ts [--partitions 50000] [--limit 20000] [--dir /dev/shm]
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { printTable, ROOT, writeResults } from "./support.ts";

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
const client = spawn("/usr/bin/python3", [path.join(ROOT, "tests/broker/many_partitions.py"), `127.0.0.1:${port}`, "wide", String(partitions)], { stdio: ["ignore", "pipe", "inherit"] });
let out = "";
client.stdout!.on("data", (d) => (out += d.toString()));
const code = await new Promise<number | null>((resolve) => client.on("close", resolve));
const seconds = (performance.now() - started) / 1000;
sample();
clearInterval(sampler);
const emfile = (log.match(/EMFILE/g) ?? []).length;
broker.kill("SIGTERM");
await new Promise((r) => broker.on("exit", r));
fs.rmSync(dataDir, { recursive: true, force: true });
const result = { partitions, fdLimit: limit, ok: code === 0, client: out.trim(), seconds: Number(seconds.toFixed(1)), peakFds, peakRssMiB: Math.round(peakRssMiB), emfileErrors: emfile, budget: /at most (\d+) log files/.exec(log)?.[1] };
console.log(`results: ${writeResults("many-partitions", result)}`);
printTable("many partitions under an fd limit", [Object.fromEntries(Object.entries(result).map(([k, v]) => [k, String(v)]))]);
process.exit(code === 0 && emfile === 0 ? 0 : 1);
