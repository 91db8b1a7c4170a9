/**
 * File descriptors (issue 16): a broker under a 1,024 open-files limit serves 3,000 partitions (each would hold 3
 * files without the bounded file-handle cache, log.open.files.max): a real client (confluent-kafka) creates them,
 * produces one record to every partition with acks=all and reads every one back; after a restart it still serves
 * them all. Asked for more log files than the limit allows, the broker refuses to start and names the limit and
 * the need. (50,000 partitions under 20,000: bench/many-partitions.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { ROOT, startBrokerProcess } from "../support/broker-process.ts";
import { haveCommand, havePythonModule, PYTHON, runProc } from "../support/proc.ts";

const PARTITIONS = 3000;
const FD_LIMIT = 1024;
const PRLIMIT = ["prlimit", `--nofile=${FD_LIMIT}:${FD_LIMIT}`];
const skip =
  (!haveCommand("prlimit") && "prlimit (util-linux) is not installed: fd-limit tests skipped") ||
  (!(await havePythonModule("confluent_kafka")) && "python3-confluent-kafka is not installed: fd-limit tests skipped");

/** tmpfs when there is one: this test is about descriptors, not about how fast this machine's disk fsyncs. */
const TMP = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
const runtime = () => (fs.existsSync(path.join(ROOT, "dist/runnel")) ? "binary" : "bun");

test(`${PARTITIONS} partitions produced to and fetched from under a ${FD_LIMIT} open-files limit`, { skip, timeout: 400_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(TMP, "runnel-fds-"));
  const args = ["--port", "0", "--data-dir", dir, "-o", "auto.create.topics.enable=false"];
  try {
    let b = await startBrokerProcess(runtime(), args, 60_000, {}, PRLIMIT);
    try {
      // a sharded node says its per-shard share: "open-files limit 1024 for 2 shards, at most 208 log files open per shard"
      assert.match(b.log(), new RegExp(`open-files limit ${FD_LIMIT}( for \\d+ shards)?, at most \\d+ log files open`));
      const r = await runProc(PYTHON, [path.join(import.meta.dirname, "many_partitions.py"), b.bootstrap, "wide", String(PARTITIONS)], { timeoutMs: 300_000 });
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${b.log().slice(-3000)}`);
      assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").pop()!), { ok: true, produced: PARTITIONS, read: PARTITIONS });
      assert.doesNotMatch(b.log(), /EMFILE/);
    } finally {
      await b.stop();
    }
    // A restart loads every partition under the same limit.
    b = await startBrokerProcess(runtime(), args, 120_000, {}, PRLIMIT);
    try {
      const k = await runProc("kcat", ["-C", "-b", b.bootstrap, "-t", "wide", "-p", String(PARTITIONS - 1), "-o", "beginning", "-e", "-q", "-f", "%s\n"], { timeoutMs: 60_000 });
      assert.equal(k.stdout.trim(), `value-${PARTITIONS - 1}`, k.stderr);
    } finally {
      await b.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("asked for more log files than the open-files limit allows, the broker refuses to start and says what is needed", { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-fds-"));
  try {
    const bin = runtime() === "binary" ? [path.join(ROOT, "dist/runnel")] : [path.join(ROOT, "node_modules/.bin/bun"), path.join(ROOT, "src/cli/main.ts")];
    const child = spawn(PRLIMIT[0], [...PRLIMIT.slice(1), ...bin, "start", "--port", "0", "--data-dir", dir, "-o", "log.open.files.max=5000"], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.equal(code, 1, err);
    assert.match(err, /open-files limit \(ulimit -n\) is 1024/);
    assert.match(err, /needs at least 5\d\d\d file descriptors with log.open.files.max=5000/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
