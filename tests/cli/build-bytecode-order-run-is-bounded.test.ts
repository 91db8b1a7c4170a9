/**
 * The build's recording run (src/cli/bytecode-order.ts) is bounded: a broker that does not exit on SIGTERM is killed
 * after the stop time (its order file still used when it wrote one), and one that never listens is given up after
 * the start time, killed, and named in the warning; the build never waits for it forever.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { recordBytecodeOrder } from "../../src/cli/bytecode-order.ts";

/** Limits small enough for a test; the fake brokers sleep far longer than the test may take. */
const LIMITS = { startTimeoutMs: 1_500, idleMs: 10, stopTimeoutMs: 300 };

/** A fake `runnel` that ignores SIGTERM; `listens`: it writes an order file and logs a listening line first. */
function fakeBroker(dir: string, listens: boolean): string {
  const bin = path.join(dir, "runnel");
  const lines = ["#!/bin/sh", "trap '' TERM"];
  if (listens) lines.push(`echo "main.js" > "$BUN_BYTECODE_ORDER_OUT"`, `echo "INFO Runnel broker 1 listening on PLAINTEXT://127.0.0.1:9" >&2`);
  lines.push("exec sleep 300");
  fs.writeFileSync(bin, lines.join("\n") + "\n", { mode: 0o755 });
  return bin;
}

test("a recording broker that ignores SIGTERM is killed after the stop time, its order kept", { timeout: 30_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-order-"));
  try {
    const warnings: string[] = [];
    const order = await recordBytecodeOrder(fakeBroker(dir, true), dir, (m) => warnings.push(m), LIMITS);
    assert.equal(order, path.join(dir, "bytecode-order.txt"));
    assert.deepEqual(warnings, []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a recording broker that never listens is given up after the start time and killed: no order, a warning", { timeout: 30_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-order-"));
  try {
    const warnings: string[] = [];
    const order = await recordBytecodeOrder(fakeBroker(dir, false), dir, (m) => warnings.push(m), LIMITS);
    assert.equal(order, null);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /broker did not start; .*\); keeping the unordered build/);
    assert.match(warnings[0], /did not exit within 300 ms of SIGTERM and was killed/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
