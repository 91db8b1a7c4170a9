/**
 * `runnel group list|describe|delete|reset-offsets` end to end: a group made by `runnel consume -g`, its lag
 * table (committed offset, log end offset, lag per partition, like kafka-consumer-groups --describe), a live
 * member shown with its assignment, offset resets in every mode (dry run and --execute), refusal while members
 * are active, deletion, and errors for unknown groups.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { Consumer } from "../../src/client/consumer.ts";
import { runnel } from "./run-cli.ts";

let broker: TestBroker;
let b: string[];

before(async () => {
  broker = await startTestBroker();
  b = ["-b", broker.bootstrap];
  await runnel(["topic", "create", "lagging", "-p", "2", ...b]);
  const input = Array.from({ length: 20 }, (_, i) => `v${i}`).join("\n") + "\n";
  // 10 records per partition.
  await runnel(["produce", "lagging", "-p", "0", ...b], { input: input.split("\n").slice(0, 10).join("\n") + "\n" });
  await runnel(["produce", "lagging", "-p", "1", ...b], { input: input.split("\n").slice(10, 20).join("\n") + "\n" });
  const c = await runnel(["consume", "lagging", "-g", "lag-group", "-n", "6", ...b]);
  assert.equal(c.code, 0, c.stderr);
});

after(async () => {
  await broker?.stop();
});

/** Parses the per-partition table of `group describe` into [topic, partition, committed, end, lag]. */
function lagRows(out: string): string[][] {
  const lines = out.split("\n");
  const start = lines.findIndex((l) => l.startsWith("TOPIC"));
  assert.ok(start >= 0, out);
  assert.match(lines[start], /^TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+CONSUMER-ID\s+HOST\s+CLIENT-ID$/);
  return lines.slice(start + 1).filter((l) => l.trim() !== "").map((l) => l.trim().split(/\s+/).slice(0, 5));
}

test("group list shows the group", async () => {
  const r = await runnel(["group", "list", ...b]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^GROUP\s+STATE\s+PROTOCOL-TYPE$/m);
  assert.match(r.stdout, /^lag-group\s+Empty\s+consumer$/m);
});

test("group describe prints committed offset, log end offset and lag per partition", async () => {
  const r = await runnel(["group", "describe", "lag-group", ...b]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /STATE\s+Empty/);
  const rows = lagRows(r.stdout);
  assert.equal(rows.length, 2);
  let committed = 0;
  for (const [topic, , cur, end, lag] of rows) {
    assert.equal(topic, "lagging");
    assert.equal(end, "10");
    assert.equal(Number(lag), 10 - Number(cur));
    committed += Number(cur);
  }
  assert.equal(committed, 6, "the 6 printed records were committed");
});

test("a live member appears with its assignment", async () => {
  const c = new Consumer({ bootstrap: broker.bootstrap, groupId: "lag-group", clientId: "live-client", heartbeatIntervalMs: 200, fetchMaxWaitMs: 100, enableAutoCommit: false });
  await c.connect();
  c.subscribe(["lagging"]);
  const deadline = Date.now() + 15_000;
  while (c.assignment().length < 2 && Date.now() < deadline) await c.poll(100);
  try {
    const r = await runnel(["group", "describe", "lag-group", ...b]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /STATE\s+Stable/);
    assert.match(r.stdout, /MEMBERS\s+1/);
    assert.match(r.stdout, /lagging\s+0\s+\d+\s+10\s+\d+\s+\S+\s+\S+\s+live-client/);
    const refused = await runnel(["group", "reset-offsets", "lag-group", "--all-topics", "--to-earliest", "--execute", ...b]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /inactive.*Stable/);
    const busy = await runnel(["group", "delete", "lag-group", ...b]);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /active members|NON_EMPTY_GROUP/);
  } finally {
    await c.close();
  }
});

test("reset-offsets plans without --execute and commits with it", async () => {
  const plan = await runnel(["group", "reset-offsets", "lag-group", "--topic", "lagging", "--to-earliest", ...b]);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, /^GROUP\s+TOPIC\s+PARTITION\s+NEW-OFFSET$/m);
  assert.match(plan.stdout, /lag-group\s+lagging\s+0\s+0/);
  assert.match(plan.stderr, /Dry run/);
  const before = lagRows((await runnel(["group", "describe", "lag-group", ...b])).stdout);
  assert.ok(before.some((r) => r[2] !== "0"), "nothing was committed by the dry run");

  const toOffset = await runnel(["group", "reset-offsets", "lag-group", "-t", "lagging:1", "--to-offset", "4", "--execute", ...b]);
  assert.equal(toOffset.code, 0, toOffset.stderr);
  const shifted = await runnel(["group", "reset-offsets", "lag-group", "-t", "lagging:1", "--shift-by=-3", "--execute", ...b]);
  assert.equal(shifted.code, 0, shifted.stderr);
  assert.match(shifted.stdout, /lagging\s+1\s+1/);
  const latest = await runnel(["group", "reset-offsets", "lag-group", "-t", "lagging:0", "--to-latest", "--execute", ...b]);
  assert.equal(latest.code, 0, latest.stderr);
  const rows = lagRows((await runnel(["group", "describe", "lag-group", ...b])).stdout);
  assert.deepEqual(rows, [
    ["lagging", "0", "10", "10", "0"],
    ["lagging", "1", "1", "10", "9"],
  ]);
  const clamped = await runnel(["group", "reset-offsets", "lag-group", "--all-topics", "--shift-by", "100", "--execute", ...b]);
  assert.equal(clamped.code, 0, clamped.stderr);
  assert.match(clamped.stdout, /lagging\s+1\s+10/);
  const byTime = await runnel(["group", "reset-offsets", "lag-group", "--all-topics", "--to-datetime", "2000-01-01T00:00:00Z", "--execute", ...b]);
  assert.equal(byTime.code, 0, byTime.stderr);
  assert.deepEqual(lagRows((await runnel(["group", "describe", "lag-group", ...b])).stdout).map((r) => r[2]), ["0", "0"]);
  // The next consumer of the group starts at the reset offsets.
  const again = await runnel(["consume", "lagging", "-g", "lag-group", "-e", ...b]);
  assert.equal(again.stdout.trim().split("\n").length, 20);
});

test("group delete removes an empty group; unknown groups are reported", async () => {
  const del = await runnel(["group", "delete", "lag-group", ...b]);
  assert.equal(del.code, 0, del.stderr);
  assert.match(del.stdout, /lag-group\s+OK/);
  const list = await runnel(["group", "list", ...b]);
  assert.doesNotMatch(list.stdout, /lag-group/);
  const missing = await runnel(["group", "describe", "lag-group", ...b]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /consumer group 'lag-group' does not exist/);
  const delMissing = await runnel(["group", "delete", "nobody", ...b]);
  assert.equal(delMissing.code, 1);
  assert.match(delMissing.stderr, /nobody/);
  const usage = await runnel(["group", "reset-offsets", "x", "--to-earliest", ...b]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--topic TOPIC .* or --all-topics/);
  const noMode = await runnel(["group", "reset-offsets", "x", "--all-topics", ...b]);
  assert.equal(noMode.code, 2);
});
