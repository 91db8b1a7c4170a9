/**
 * /metrics of a sharded node whose shard 1 never answers a scrape (an injected deaf shard): the page still comes,
 * after the bounded wait (SHARD_SCRAPE_TIMEOUT_MS), parses, names the shard in a comment, says
 * `runnel_shard_up{shard="1"} 0` and keeps shard 0's and the front's series.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LISTENING_LINE, ROOT } from "../support/broker-process.ts";
import { HTTP_LINE, havePrometheusParser, parsePrometheus, sampleValue, waitUntilReady } from "../support/http-broker.ts";
import { SHARD_SCRAPE_TIMEOUT_MS } from "../../src/shard/shard-metrics.ts";

const skip = havePrometheusParser() ? false : "python3-prometheus-client is not installed (tests/setup.d/45-prometheus-parser.sh)";

test("a shard that does not answer a scrape is named on the page, which still comes", { skip, timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-deaf-shard-"));
  const child = spawn(path.join(ROOT, "node_modules/.bin/bun"), [
    path.join(ROOT, "tests/http/fixtures/node-with-metrics-deaf-shard.ts"),
    "--port", "0", "--data-dir", dir, "--shards", "2", "--http", "http://127.0.0.1:0",
  ], { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT });
  try {
    let log = "";
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr!.on("data", (b) => {
        log += b.toString();
        const m = HTTP_LINE.exec(log);
        if (m !== null && LISTENING_LINE.test(log)) resolve(m[1]);
      });
      void exited.then(() => reject(new Error(`the node exited before serving:\n${log}`)));
    });
    await waitUntilReady(url);
    const res = await fetch(`${url}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, new RegExp(`^# shard 1 is missing from this page: shard 1 did not answer metrics within ${SHARD_SCRAPE_TIMEOUT_MS} ms$`, "m"));
    const s = parsePrometheus(text);
    assert.equal(sampleValue(s, "runnel_shard_up", { shard: "0" }), 1);
    assert.equal(sampleValue(s, "runnel_shard_up", { shard: "1" }), 0);
    assert.ok(sampleValue(s, "runnel_shard_event_loop_lag_seconds", { shard: "0" }) >= 0, "shard 0's series are there");
    assert.equal(s.filter((x) => x.labels.shard === "1" && x.name !== "runnel_shard_up").length, 0, "none of shard 1's");
    assert.ok(sampleValue(s, "process_resident_memory_bytes") > 0, "the main thread's series are there");
    child.kill("SIGTERM");
    assert.equal(await exited, 0, log);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
