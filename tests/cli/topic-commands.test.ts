/**
 * `runnel topic create|list|describe|alter-config|add-partitions|delete` end to end against a running broker,
 * including the errors: duplicate and missing topics, bad flags (exit 2) and an unreachable broker (exit 1).
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { runnel } from "./run-cli.ts";

let broker: TestBroker;
let b: string[];

before(async () => {
  broker = await startTestBroker({ "num.partitions": "2" });
  b = ["-b", broker.bootstrap];
});

after(async () => {
  await broker?.stop();
});

test("topic create, list and describe", async () => {
  const created = await runnel(["topic", "create", "orders", "-p", "3", "-c", "retention.ms=86400000", "-c", "cleanup.policy=delete", ...b]);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /orders\s+OK/);
  const defaults = await runnel(["topic", "create", "events", ...b]);
  assert.equal(defaults.code, 0, defaults.stderr);

  const list = await runnel(["topic", "list", ...b]);
  assert.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trim().split("\n");
  assert.match(lines[0], /^NAME\s+PARTITIONS\s+REPLICAS$/);
  assert.ok(lines.some((l) => /^events\s+2\s+1$/.test(l)), list.stdout);
  assert.ok(lines.some((l) => /^orders\s+3\s+1$/.test(l)), list.stdout);

  const d = await runnel(["topic", "describe", "orders", ...b]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /NAME\s+orders/);
  assert.match(d.stdout, /PARTITIONS\s+3/);
  assert.match(d.stdout, /retention\.ms\s+86400000\s+DYNAMIC_TOPIC_CONFIG/);
  assert.match(d.stdout, /PARTITION\s+LEADER\s+EPOCH\s+REPLICAS\s+ISR\s+LOG-START-OFFSET\s+HIGH-WATERMARK/);
  for (const p of [0, 1, 2]) assert.match(d.stdout, new RegExp(`\\n${p}\\s+1\\s+0\\s+\\[1\\]\\s+\\[1\\]\\s+0\\s+0`));
  const all = await runnel(["topic", "describe", "orders", "--all-configs", ...b]);
  assert.match(all.stdout, /segment\.bytes\s+\d+\s+DEFAULT_CONFIG|segment\.bytes\s+\d+\s+STATIC_BROKER_CONFIG/);
});

test("topic create fails clearly for an existing topic unless --if-not-exists", async () => {
  await runnel(["topic", "create", "dup", ...b]);
  const again = await runnel(["topic", "create", "dup", ...b]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists/);
  const tolerant = await runnel(["topic", "create", "dup", "--if-not-exists", ...b]);
  assert.equal(tolerant.code, 0, tolerant.stderr);
  const bad = await runnel(["topic", "create", "bad-config", "-c", "retention.ms=soon", ...b]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /bad-config/);
});

test("topic alter-config sets and deletes overrides", async () => {
  await runnel(["topic", "create", "cfg", "-c", "retention.ms=1000", ...b]);
  const r = await runnel(["topic", "alter-config", "cfg", "--set", "cleanup.policy=compact", "--set", "max.message.bytes=2048", "--delete", "retention.ms", ...b]);
  assert.equal(r.code, 0, r.stderr);
  const d = await runnel(["topic", "describe", "cfg", ...b]);
  assert.match(d.stdout, /cleanup\.policy\s+compact\s+DYNAMIC_TOPIC_CONFIG/);
  assert.match(d.stdout, /max\.message\.bytes\s+2048\s+DYNAMIC_TOPIC_CONFIG/);
  assert.doesNotMatch(d.stdout, /retention\.ms\s+1000/);
  const invalid = await runnel(["topic", "alter-config", "cfg", "--set", "cleanup.policy=sometimes", ...b]);
  assert.equal(invalid.code, 1);
  const missing = await runnel(["topic", "alter-config", "nope", "--set", "cleanup.policy=compact", ...b]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope/);
});

test("topic add-partitions by count and to a total", async () => {
  await runnel(["topic", "create", "grow", "-p", "1", ...b]);
  const add = await runnel(["topic", "add-partitions", "grow", "--num", "2", ...b]);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /1 -> 3/);
  const total = await runnel(["topic", "add-partitions", "grow", "--total", "5", ...b]);
  assert.equal(total.code, 0, total.stderr);
  assert.match((await runnel(["topic", "list", ...b])).stdout, /grow\s+5\s+1/);
  const shrink = await runnel(["topic", "add-partitions", "grow", "--total", "2", ...b]);
  assert.equal(shrink.code, 1);
  assert.match(shrink.stderr, /INVALID_PARTITIONS|higher than/);
});

test("topic delete removes topics and reports missing ones", async () => {
  await runnel(["topic", "create", "gone", ...b]);
  const del = await runnel(["topic", "delete", "gone", ...b]);
  assert.equal(del.code, 0, del.stderr);
  assert.doesNotMatch((await runnel(["topic", "list", ...b])).stdout, /^gone\s/m);
  const missing = await runnel(["topic", "delete", "gone", ...b]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /UNKNOWN_TOPIC_OR_PARTITION/);
  assert.equal((await runnel(["topic", "delete", "gone", "--if-exists", ...b])).code, 0);
});

test("bad usage exits 2 with the usage text; an unreachable broker exits 1", async () => {
  const noSub = await runnel(["topic"]);
  assert.equal(noSub.code, 2);
  const unknown = await runnel(["topic", "frobnicate", ...b]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown topic command 'frobnicate'[\s\S]*Usage: runnel topic/);
  const badFlag = await runnel(["topic", "create", "x", "--partitions", "zero", ...b]);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /--partitions expects an integer/);
  const unknownFlag = await runnel(["topic", "list", "--frob", ...b]);
  assert.equal(unknownFlag.code, 2);
  const down = await runnel(["topic", "list", "-b", "127.0.0.1:1"]);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot connect to 127\.0\.0\.1:1/);
  const help = await runnel(["topic", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: runnel topic/);
});
