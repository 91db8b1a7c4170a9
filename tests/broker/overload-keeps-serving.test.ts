/**
 * Issue 16 acceptance 3: under each overload a spawned broker process keeps serving and its memory stays bounded.
 * Cases: 10,000 idle connections; 500 slow-loris connections; 100 connections announcing a 2 GiB frame plus 100
 * announcing 100 MB (within socket.request.max.bytes) and sending 3 MB of it, 300 MB in all, more than the broker's
 * 128 MiB `queued.max.request.bytes` (so reading is muted until `socket.request.read.timeout.ms`, 5 s here, closes
 * the stalled senders: clients are slowed, not failed); one client pipelining 10,000
 * requests without reading. Under each, kcat produces 10,000 records with acks=all and reads all of them back,
 * and the broker's peak RSS (VmHWM from /proc) stays under the case's bound ({@link RSS_BOUND}, or
 * {@link RSS_BOUND_WITH_BUDGET} where request bytes pile up). Every load is bounded in count and
 * time and stopped before the broker. bench/overload.ts reports the same figures.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startBrokerProcess } from "../support/broker-process.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { hugeAnnouncements, idleConnections, pipeliningClient, processMemory, slowLoris, type Load } from "../support/overload.ts";

const skip = haveCommand("kcat") ? false : "kcat is not installed (tests/setup.sh installs it as root)";
const MiB = 1024 * 1024;
/** Peak resident memory allowed where no request bytes pile up: about 60 MiB at rest plus 84 MiB of slack. */
const RSS_BOUND = 144 * MiB;
/** Where request bytes pile up: 60 MiB at rest, the 128 MiB request budget (`queued.max.request.bytes`), 100 MiB slack. */
const RSS_BOUND_WITH_BUDGET = 288 * MiB;
const RECORDS = 10_000;
/** The broker's limits in every case (the rest at their defaults). */
const LIMITS = ["-o", `queued.max.request.bytes=${128 * 1024 * 1024}`, "-o", "socket.request.read.timeout.ms=5000"];

/** Produces and consumes RECORDS records with kcat; returns how many came back. */
async function kcatRoundTrip(bootstrap: string, topic: string): Promise<number> {
  const lines: string[] = [];
  for (let i = 0; i < RECORDS; i++) lines.push(`value-${i}`);
  const prod = await runProc("kcat", ["-P", "-b", bootstrap, "-t", topic, "-X", "acks=all"], { input: lines.join("\n") + "\n", timeoutMs: 90_000 });
  assert.equal(prod.code, 0, prod.stderr);
  const cons = await runProc("kcat", ["-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\n"], { timeoutMs: 90_000 });
  assert.equal(cons.code, 0, cons.stderr);
  const got = cons.stdout.split("\n").filter((l) => l !== "");
  assert.deepEqual(new Set(got).size, RECORDS, "every record once");
  return got.length;
}

const cases: [string, number, (port: number) => Promise<Load>][] = [
  ["10,000 idle connections", RSS_BOUND, (port) => idleConnections(port, 10_000)],
  ["500 slow-loris connections", RSS_BOUND, (port) => slowLoris(port, 500)],
  [
    "100 connections announcing 2 GiB and 100 announcing 100 MB with 3 MB sent",
    RSS_BOUND_WITH_BUDGET,
    async (port) => {
      const over = await hugeAnnouncements(port, 100);
      const within = await hugeAnnouncements(port, 100, 100 * 1024 * 1024, 3 * 1024 * 1024);
      return { connected: over.connected + within.connected, closedByBroker: over.closedByBroker, stop: () => (over.stop(), within.stop()) };
    },
  ],
  ["a client pipelining 10,000 requests without reading", RSS_BOUND, (port) => pipeliningClient(port, 10_000)],
];

for (const [name, bound, start] of cases) {
  test(`overload: ${name} — kcat round trip of 10,000 records succeeds, broker RSS stays under ${bound / MiB} MiB`, { skip, timeout: 240_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-overload-"));
    const b = await startBrokerProcess("bun", ["--port", "0", "--data-dir", dir, "-o", "offsets.topic.num.partitions=1", ...LIMITS]);
    let load: Load | null = null;
    try {
      const before = processMemory(b.child.pid!);
      load = await start(b.port);
      assert.ok(load.connected > 0, "the load connected");
      const during = processMemory(b.child.pid!);
      const n = await kcatRoundTrip(b.bootstrap, "overload");
      const after = processMemory(b.child.pid!);
      if (process.env.RUNNEL_OVERLOAD_VERBOSE) {
        console.log(`${name}: connected ${load.connected}, closed by broker ${load.closedByBroker}; RSS before ${before.rss >> 20} MiB, under load ${during.rss >> 20} MiB, after kcat ${after.rss >> 20} MiB, peak ${after.peak >> 20} MiB`);
      }
      assert.equal(n, RECORDS);
      assert.ok(after.peak < bound, `peak RSS ${after.peak >> 20} MiB is over ${bound / MiB} MiB`);
    } finally {
      load?.stop();
      await b.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
