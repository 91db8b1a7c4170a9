/**
 * At the open-file limit the broker stops accepting instead of failing accept() in a loop: a broker process with a
 * soft limit of 700 descriptors caps its connections at what the reserve and the log files' share
 * (`log.open.files.max`, half by default) leave, 318, refuses the rest of
 * 1,000 connection attempts while it is full, says so in its log, and once the load goes away accepts again and
 * serves a kcat round trip.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startBrokerProcess } from "../support/broker-process.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { startLoadProcess } from "../support/overload.ts";
import { RESERVED_FDS, logOpenFilesBudget } from "../../src/storage/file-handle-cache.ts";

const skip = haveCommand("kcat") ? false : "kcat is not installed (tests/setup.sh installs it as root)";
const LIMIT = 700;

test("a broker at its open-file limit pauses accepting, then accepts and serves again", { skip, timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-fdlimit-"));
  const b = await startBrokerProcess("bun", ["--port", "0", "--data-dir", dir, "-o", "offsets.topic.num.partitions=1"], 20_000, {}, ["prlimit", `--nofile=${LIMIT}:${LIMIT}`]);
  try {
    const load = await startLoadProcess("idle-1000", b.port, 2000);
    const cap = LIMIT - RESERVED_FDS - (logOpenFilesBudget(LIMIT, null) as number);
    assert.ok(load.connected <= cap, `${load.connected} connections accepted, at most ${cap}`);
    assert.ok(load.connected >= cap - 5, `${load.connected} connections accepted, about ${cap}`);
    assert.match(b.log(), new RegExp(`max.connections=${cap} open connections: not accepting`));
    await load.stop();
    for (let i = 0; i < 200 && !b.log().includes("again: accepting"); i++) await new Promise((r) => setTimeout(r, 25));
    assert.match(b.log(), /below max.connections=\d+ again: accepting/);
    const input = Array.from({ length: 1000 }, (_, i) => `v${i}`).join("\n") + "\n";
    const prod = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", "fd", "-X", "acks=all"], { input, timeoutMs: 60_000 });
    assert.equal(prod.code, 0, prod.stderr);
    const cons = await runProc("kcat", ["-C", "-b", b.bootstrap, "-t", "fd", "-o", "beginning", "-e", "-q"], { timeoutMs: 60_000 });
    assert.equal(cons.stdout.split("\n").filter((l) => l !== "").length, 1000);
    assert.doesNotMatch(b.log(), /EMFILE/);
  } finally {
    await b.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
