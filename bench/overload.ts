/**
 * The broker's memory bound under each overload case of issue 16 (acceptance 3): for each case a fresh broker
 * process, the load (in its own process, see tests/support/overload.ts), then a kcat round trip of `--records`
 * records with acks=all; reports RSS at rest, under load, after the round trip and the peak (VmHWM), and the round
 * trip's time. Every load is bounded; the whole run takes well under a minute.
 *
 *   bun bench/overload.ts [--records 10000] [--budget-mib 64] [--runtime bun|binary]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { startBrokerProcess, type BrokerRuntime } from "../tests/support/broker-process.ts";
import { runProc } from "../tests/support/proc.ts";
import { LOADS, processCpuSeconds, processMemory, startLoadProcess } from "../tests/support/overload.ts";
import { printTable, writeResults } from "./support.ts";

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "10000" },
    "budget-mib": { type: "string", default: "64" },
    runtime: { type: "string", default: "bun" },
  },
});
const records = Number(values.records);
const budget = Number(values["budget-mib"]) * 1024 * 1024;
const LIMITS = ["-o", `queued.max.request.bytes=${budget}`, "-o", `socket.request.max.bytes=${budget}`, "-o", "socket.request.read.timeout.ms=5000", "-o", "log.open.files.max=1000"];
const OPEN_FILES = 12_000;
const DESCRIBED: Record<string, string> = {
  idle: "10,000 idle connections",
  loris: "500 slow-loris connections",
  huge: "100 x 2 GiB + 100 x 60 MB announced (3 MB sent)",
  pipelined: "10,000 pipelined requests, unread",
  all: "all four at once",
};

const rows: Record<string, string | number>[] = [];
for (const name of Object.keys(DESCRIBED)) {
  if (!(name in LOADS)) throw new Error(`no load ${name}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-bench-overload-"));
  const b = await startBrokerProcess(values.runtime as BrokerRuntime, ["--port", "0", "--data-dir", dir, "-o", "offsets.topic.num.partitions=1", ...LIMITS], 20_000, {}, ["prlimit", `--nofile=${OPEN_FILES}:${OPEN_FILES}`]);
  let load: Awaited<ReturnType<typeof startLoadProcess>> | null = null;
  try {
    const rest = processMemory(b.child.pid!);
    load = await startLoadProcess(name, b.port, OPEN_FILES);
    const under = processMemory(b.child.pid!);
    const t0 = performance.now();
    const input = Array.from({ length: records }, (_, i) => `value-${i}`).join("\n") + "\n";
    const prod = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", "overload", "-X", "acks=all"], { input, timeoutMs: 120_000 });
    const cons = await runProc("kcat", ["-C", "-b", b.bootstrap, "-t", "overload", "-o", "beginning", "-e", "-q", "-f", "%s\n"], { timeoutMs: 120_000 });
    const ms = performance.now() - t0;
    const got = cons.stdout.split("\n").filter((l) => l !== "").length;
    const after = processMemory(b.child.pid!);
    rows.push({
      case: DESCRIBED[name],
      connected: load.connected,
      "rest MiB": rest.rss / 2 ** 20,
      "load MiB": under.rss / 2 ** 20,
      "after MiB": after.rss / 2 ** 20,
      "peak MiB": after.peak / 2 ** 20,
      "round trip ms": ms,
      "records back": prod.code === 0 && cons.code === 0 ? got : `failed (${prod.code}/${cons.code})`,
    });
  } finally {
    await load?.stop();
    await b.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
// At the descriptor limit: 10,000 connection attempts at a broker with 2,000 descriptors (968 for connections): the
// listener pauses, so the broker's CPU stays near idle while clients are refused, instead of spinning on accept().
{
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-bench-overload-"));
  const b = await startBrokerProcess(values.runtime as BrokerRuntime, ["--port", "0", "--data-dir", dir], 20_000, {}, ["prlimit", "--nofile=2000:2000"]);
  try {
    const cpu0 = processCpuSeconds(b.child.pid!);
    const t0 = performance.now();
    const load = await startLoadProcess("idle", b.port, OPEN_FILES);
    await new Promise((r) => setTimeout(r, 3000)); // the broker sits at its limit with the load connected
    const cpu = processCpuSeconds(b.child.pid!) - cpu0;
    const s = (performance.now() - t0) / 1000;
    await load.stop();
    rows.push({ case: `10,000 connects, broker at a 2,000-fd limit: ${load.connected} accepted, CPU ${((100 * cpu) / s).toFixed(0)}% over ${s.toFixed(1)} s`, connected: load.connected, "rest MiB": 0, "load MiB": 0, "after MiB": 0, "peak MiB": processMemory(b.child.pid!).peak / 2 ** 20, "round trip ms": 0, "records back": "-" });
  } finally {
    await b.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
printTable(`Broker memory under overload (kcat round trip of ${records} records; queued.max.request.bytes = socket.request.max.bytes = ${values["budget-mib"]} MiB, socket.request.read.timeout.ms 5000)`, rows);
console.log(`\nresults: ${writeResults("overload", rows)}`);
