/**
 * /v1/health is live and /v1/ready answers 503 while the logs are being recovered after an unclean stop, then 200
 * once recovery is done and the Kafka listener is bound. The broker's recovery hook holds recovery after the first
 * partition until the test has probed, so the 503 is observed deterministically mid-recovery. A sharded node
 * (RUNNEL_TEST_SHARDS; its own process, no hook to hold its recovery) is checked for the rest: after the unclean stop
 * every shard recovers its logs (each with its own clean-shutdown marker, `.kafka_cleanshutdown.shard_K`), and the
 * node is ready with every message back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startHttpTestBroker, httpJson } from "../support/http-broker.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import type { HttpServer } from "../../src/http/http-server.ts";
import { CLEAN_SHUTDOWN_FILE } from "../../src/storage/log-manager.ts";
import { IN_PROCESS } from "../support/group-state.ts";

const PARTITIONS = 8;

test("/v1/ready is 503 while a large log recovers and 200 after", { skip: haveCommand("kcat") ? false : "kcat is not installed", timeout: 120_000 }, async () => {
  const first = await startHttpTestBroker();
  const dir = first.dir;
  try {
    assert.equal((await httpJson(`${first.url}/v1/topics`, "POST", { name: "big", partitions: PARTITIONS })).status, 201);
    const lines = Array.from({ length: 20_000 }, (_, i) => `k${i}:${"v".repeat(200)}${i}`);
    const p = await runProc("kcat", ["-P", "-b", first.bootstrap, "-t", "big", "-K:"], { input: lines.join("\n") + "\n", timeoutMs: 60_000 });
    assert.equal(p.code, 0, p.stderr);
  } finally {
    await first.stop({ keepDir: true });
  }
  // Make the next start an unclean one: no clean-shutdown marker, no indexes.
  const markers = fs.readdirSync(dir).filter((n) => n === CLEAN_SHUTDOWN_FILE || n.startsWith(`${CLEAN_SHUTDOWN_FILE}.shard_`));
  assert.ok(markers.length >= 1, "the clean stop left its marker");
  for (const m of markers) fs.rmSync(path.join(dir, m));
  for (const d of fs.readdirSync(dir)) {
    if (!d.startsWith("big-")) continue;
    for (const f of fs.readdirSync(path.join(dir, d))) if (f.endsWith(".index") || f.endsWith(".timeindex")) fs.rmSync(path.join(dir, d, f));
  }

  let url = "";
  const seen: { loaded: number; total: number; ready: number; health: number; reason: string }[] = [];
  const logLines: string[] = [];
  const b = await startHttpTestBroker({}, !IN_PROCESS ? { dir, logLines } : {
    dir,
    logLines,
    onHttpBound: (h: HttpServer) => (url = `http://127.0.0.1:${h.ports[0]}`),
    deps: {
      recoveryProgress: async (loaded, total) => {
        if (loaded !== 1) return;
        // Recovery is held here, one partition in: probe from outside.
        const ready = await httpJson(`${url}/v1/ready`);
        const health = await httpJson(`${url}/v1/health`);
        seen.push({ loaded, total, ready: ready.status, health: health.status, reason: ready.body.reason });
      },
    },
  });
  try {
    if (IN_PROCESS) {
      assert.equal(seen.length, 1, "the recovery hook ran once with the HTTP side up");
      assert.equal(seen[0].ready, 503);
      assert.equal(seen[0].health, 200);
      assert.ok(seen[0].total >= PARTITIONS, `total ${seen[0].total}`);
      assert.match(seen[0].reason, new RegExp(`recovering logs: 1/${seen[0].total}`));
    }
    const recovered = new Set(logLines.map((l) => /recovered (big-\d+): .*rebuilt index/.exec(l)?.[1]).filter((p) => p !== undefined));
    assert.equal(recovered.size, PARTITIONS, `every partition's log was recovered (on every shard):\n${logLines.join("\n")}`);
    const after = await httpJson(`${b.url}/v1/ready`);
    assert.equal(after.status, 200);
    assert.equal(after.body.status, "ready");
    assert.equal((await httpJson(`${b.url}/v1/topics/big`)).body.messages, 20_000);
  } finally {
    await b.stop();
  }
});
