/**
 * The broker's memory bound under each overload case of issue 16 (acceptance 3), larger than the test's where
 * asked: for each case a fresh broker process, the load, then a kcat round trip of `--records` records with
 * acks=all; reports RSS at rest, under load, after the round trip and the peak (VmHWM), the round trip's time and
 * how many load connections the broker closed. Every load is bounded; the whole run takes well under a minute.
 *
 *   bun bench/overload.ts [--records 10000] [--idle 10000] [--loris 500] [--huge 100] [--pipelined 10000] [--runtime bun|binary]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { startBrokerProcess, type BrokerRuntime } from "../tests/support/broker-process.ts";
import { runProc } from "../tests/support/proc.ts";
import { hugeAnnouncements, idleConnections, pipeliningClient, processMemory, slowLoris, type Load } from "../tests/support/overload.ts";
import { printTable, writeResults } from "./support.ts";

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "10000" },
    idle: { type: "string", default: "10000" },
    loris: { type: "string", default: "500" },
    huge: { type: "string", default: "100" },
    pipelined: { type: "string", default: "10000" },
    runtime: { type: "string", default: "bun" },
  },
});
const records = Number(values.records);
const LIMITS = ["-o", `queued.max.request.bytes=${128 * 1024 * 1024}`, "-o", "socket.request.read.timeout.ms=5000"];

const cases: [string, (port: number) => Promise<Load>][] = [
  [`${values.idle} idle connections`, (p) => idleConnections(p, Number(values.idle))],
  [`${values.loris} slow-loris connections`, (p) => slowLoris(p, Number(values.loris))],
  [`${values.huge} x 2 GiB announced`, (p) => hugeAnnouncements(p, Number(values.huge))],
  [`${values.huge} x 100 MB announced, 3 MB sent`, (p) => hugeAnnouncements(p, Number(values.huge), 100 * 1024 * 1024, 3 * 1024 * 1024)],
  [`${values.pipelined} pipelined, unread`, (p) => pipeliningClient(p, Number(values.pipelined))],
];

const rows: Record<string, string | number>[] = [];
for (const [name, start] of cases) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-bench-overload-"));
  const b = await startBrokerProcess(values.runtime as BrokerRuntime, ["--port", "0", "--data-dir", dir, "-o", "offsets.topic.num.partitions=1", ...LIMITS]);
  let load: Load | null = null;
  try {
    const rest = processMemory(b.child.pid!);
    load = await start(b.port);
    const under = processMemory(b.child.pid!);
    const t0 = performance.now();
    const input = Array.from({ length: records }, (_, i) => `value-${i}`).join("\n") + "\n";
    const prod = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", "overload", "-X", "acks=all"], { input, timeoutMs: 120_000 });
    const cons = await runProc("kcat", ["-C", "-b", b.bootstrap, "-t", "overload", "-o", "beginning", "-e", "-q", "-f", "%s\n"], { timeoutMs: 120_000 });
    const ms = performance.now() - t0;
    const got = cons.stdout.split("\n").filter((l) => l !== "").length;
    const after = processMemory(b.child.pid!);
    rows.push({
      case: name,
      "rest MiB": rest.rss / 2 ** 20,
      "load MiB": under.rss / 2 ** 20,
      "after MiB": after.rss / 2 ** 20,
      "peak MiB": after.peak / 2 ** 20,
      "round trip ms": ms,
      "records back": prod.code === 0 && cons.code === 0 ? got : `failed (${prod.code}/${cons.code})`,
      connected: load.connected,
      "closed by broker": load.closedByBroker,
    });
  } finally {
    load?.stop();
    await b.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
printTable(`Broker memory under overload (${records} records round trip via kcat; queued.max.request.bytes 128 MiB, socket.request.read.timeout.ms 5000)`, rows);
console.log(`\nresults: ${writeResults("overload", rows)}`);
