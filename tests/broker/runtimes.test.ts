/**
 * The broker runs from the compiled executable (copied alone into an empty directory, no node_modules beside it)
 * and under Deno, and in each case passes a kcat produce/consume round trip; so does a node with 2 shards (worker
 * threads: the shard worker entry is embedded in the executable, and Deno runs it from the sources), whose /metrics
 * counts the records over both shards.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT, startBrokerProcess, type BrokerRuntime } from "../support/broker-process.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { waitUntil } from "../transactions/wait-until.ts";
import { HTTP_LINE } from "../support/http-broker.ts";

const kcatSkip = haveCommand("kcat") ? false : "kcat is not installed";

/** kcat produces keyed lines with acks=all to topic `rt` (auto-created) and reads them all back. */
async function kcatRoundTrip(bootstrap: string): Promise<void> {
  const lines = Array.from({ length: 500 }, (_, i) => `k${i}:value-${i}-${"x".repeat(i % 37)}`);
  const p = await runProc("kcat", ["-P", "-b", bootstrap, "-t", "rt", "-K:", "-X", "acks=all"], { input: lines.join("\n") + "\n", timeoutMs: 30_000 });
  assert.equal(p.code, 0, p.stderr);
  const c = await runProc("kcat", ["-C", "-b", bootstrap, "-t", "rt", "-e", "-u", "-f", "%k:%s\n"], { timeoutMs: 30_000 });
  assert.equal(c.code, 0, c.stderr);
  assert.deepEqual(c.stdout.split("\n").filter(Boolean).sort(), [...lines].sort());
}

test("dist/runnel --version and --help work with no node_modules beside it", async () => {
  const bin = path.join(ROOT, "dist/runnel");
  assert.ok(fs.existsSync(bin), "dist/runnel exists (npm run build makes it; npm test builds first)");
  const alone = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-bin-"));
  try {
    fs.copyFileSync(bin, path.join(alone, "runnel"));
    fs.chmodSync(path.join(alone, "runnel"), 0o755);
    const v = await runProc(path.join(alone, "runnel"), ["--version"], { timeoutMs: 20_000 });
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /^runnel \d+\.\d+\.\d+ \(Kafka protocol 4\.3\)/);
    const h = await runProc(path.join(alone, "runnel"), ["--help"], { timeoutMs: 20_000 });
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /Usage: runnel <command>/);
  } finally {
    fs.rmSync(alone, { recursive: true, force: true });
  }
});

for (const runtime of ["binary", "deno"] as BrokerRuntime[]) {
  test(`broker started by ${runtime === "binary" ? "the compiled executable" : "Deno"} passes a kcat round trip`, { skip: kcatSkip, timeout: 120_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `runnel-${runtime}-`));
    const b = await startBrokerProcess(runtime, ["--port", "0", "--data-dir", dir], 60_000);
    try {
      await kcatRoundTrip(b.bootstrap);
    } finally {
      assert.equal(await b.stop("SIGTERM"), 0, `clean exit on SIGTERM\n${b.log().slice(-2000)}`);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

for (const runtime of ["binary", "deno"] as BrokerRuntime[]) {
  test(`a node with 2 shards started by ${runtime === "binary" ? "the compiled executable" : "Deno"} passes a kcat round trip over partitions of both shards`, { skip: kcatSkip, timeout: 120_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `runnel-${runtime}-shards-`));
    const b = await startBrokerProcess(runtime, ["--port", "0", "--data-dir", dir, "--shards", "2", "-o", "num.partitions=4", "--http", "http://127.0.0.1:0"], 90_000);
    try {
      assert.match(b.log(), /listening on \S+ for 2 shards/);
      // On Linux both runtimes let the shard threads accept clients too (SO_REUSEPORT).
      await waitUntil(() => /2 of 2 shard threads accept clients too/.test(b.log()), 30_000, () => `the shard threads' fronts:\n${b.log().slice(-2000)}`);
      await kcatRoundTrip(b.bootstrap);
      // Both shards' workers answer the scrape: the records are counted once, over both.
      const url = HTTP_LINE.exec(b.log())![1];
      const page = await (await fetch(`${url}/metrics`)).text();
      assert.match(page, /^runnel_shard_up\{shard="0"\} 1$/m);
      assert.match(page, /^runnel_shard_up\{shard="1"\} 1$/m);
      assert.match(page, /^kafka_server_brokertopicmetrics_messagesin_total\{topic="rt"\} 500$/m);
    } finally {
      assert.equal(await b.stop("SIGTERM"), 0, `clean exit on SIGTERM\n${b.log().slice(-2000)}`);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
