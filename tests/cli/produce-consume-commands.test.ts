/**
 * `runnel produce` and `runnel consume` end to end against a running broker: lines from stdin and from a file,
 * key separator, headers, every compression codec, explicit partitions; consuming from the beginning, the end,
 * an offset, N before the end and a timestamp, with and without a group, in the value, key-value and JSON
 * formats, stopping after N records, at the end, or after an idle timeout; and clear errors.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { runnel, startRunnel } from "./run-cli.ts";
import { Admin } from "../../src/client/admin.ts";

let broker: TestBroker;
let b: string[];

before(async () => {
  broker = await startTestBroker({ "num.partitions": "1" });
  b = ["-b", broker.bootstrap];
});

after(async () => {
  await broker?.stop();
});

test("produce lines with keys and headers from stdin; consume them as JSON with metadata", async () => {
  const p = await runnel(["produce", "kv", "-k", ":", "-H", "source=cli", "-H", "v=1", ...b], { input: "alpha:one\nbeta:two:with:colons\n:no-key\n" });
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /Produced 3 records to kv/);
  const c = await runnel(["consume", "kv", "-F", "json", "-e", ...b]);
  assert.equal(c.code, 0, c.stderr);
  const rows = c.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(rows.map((r) => [r.partition, r.offset, r.key, r.value]), [
    [0, 0, "alpha", "one"],
    [0, 1, "beta", "two:with:colons"],
    [0, 2, "", "no-key"],
  ]);
  for (const r of rows) {
    assert.equal(r.topic, "kv");
    assert.equal(r.timestampType, "CreateTime");
    assert.ok(Math.abs(r.timestamp - Date.now()) < 60_000);
    assert.deepEqual(r.headers, [{ key: "source", value: "cli" }, { key: "v", value: "1" }]);
  }
  const kv = await runnel(["consume", "kv", "-F", "key-value", "-s", "=", "-e", ...b]);
  assert.deepEqual(kv.stdout.trim().split("\n"), ["alpha=one", "beta=two:with:colons", "=no-key"]);
  const plain = await runnel(["consume", "kv", "-e", ...b]);
  assert.deepEqual(plain.stdout.trim().split("\n"), ["one", "two:with:colons", "no-key"]);
});

for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"]) {
  test(`produce from a file with ${codec} compression round-trips`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-cli-"));
    const file = path.join(dir, "in.txt");
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i} ${"w".repeat(i % 40)}`);
    fs.writeFileSync(file, lines.join("\n") + "\n");
    const topic = `file-${codec}`;
    const p = await runnel(["produce", topic, "-f", file, "-z", codec, "--linger-ms", "10", ...b]);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(p.code, 0, p.stderr);
    const c = await runnel(["consume", topic, "-e", ...b]);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(c.stdout.trim().split("\n"), lines);
    assert.match(c.stderr, /Consumed 500 records/);
  });
}

test("consume from an offset, N before the end, the end, and a timestamp; stop after N", async () => {
  await runnel(["topic", "create", "pos", "-p", "1", ...b]);
  const input = Array.from({ length: 10 }, (_, i) => `m${i}`).join("\n") + "\n";
  assert.equal((await runnel(["produce", "pos", ...b], { input })).code, 0);
  const fromOffset = await runnel(["consume", "pos", "-o", "7", "-e", ...b]);
  assert.deepEqual(fromOffset.stdout.trim().split("\n"), ["m7", "m8", "m9"]);
  const tail = await runnel(["consume", "pos", "--offset=-2", "-e", ...b]);
  assert.deepEqual(tail.stdout.trim().split("\n"), ["m8", "m9"]);
  const limited = await runnel(["consume", "pos", "--from-beginning", "-n", "4", ...b]);
  assert.deepEqual(limited.stdout.trim().split("\n"), ["m0", "m1", "m2", "m3"]);
  const end = await runnel(["consume", "pos", "--from-end", "--timeout-ms", "700", ...b]);
  assert.equal(end.code, 0, end.stderr);
  assert.equal(end.stdout, "");
  const stamp = Date.now();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal((await runnel(["produce", "pos", ...b], { input: "late1\nlate2\n" })).code, 0);
  const byTime = await runnel(["consume", "pos", "--from-timestamp", new Date(stamp).toISOString(), "-e", ...b]);
  assert.deepEqual(byTime.stdout.trim().split("\n"), ["late1", "late2"]);
  const byMs = await runnel(["consume", "pos", "--from-timestamp", String(stamp), "-e", "-F", "json", ...b]);
  assert.deepEqual(byMs.stdout.trim().split("\n").map((l) => JSON.parse(l).offset), [10, 11]);
});

test("produce and consume explicit partitions", async () => {
  await runnel(["topic", "create", "parts", "-p", "3", ...b]);
  assert.equal((await runnel(["produce", "parts", "-p", "2", ...b], { input: "x\ny\n" })).code, 0);
  const onTwo = await runnel(["consume", "parts", "-p", "2", "-e", "-F", "json", ...b]);
  assert.deepEqual(onTwo.stdout.trim().split("\n").map((l) => JSON.parse(l).partition), [2, 2]);
  const onZero = await runnel(["consume", "parts", "-p", "0,1", "-e", ...b]);
  assert.equal(onZero.stdout, "");
  const verbose = await runnel(["produce", "parts", "-p", "1", "-v", ...b], { input: "z\n" });
  assert.match(verbose.stdout, /^parts\t1\t0$/m);
});

test("consume with a group commits, so the next run continues after what was printed", async () => {
  await runnel(["topic", "create", "grouped", "-p", "2", ...b]);
  const input = Array.from({ length: 12 }, (_, i) => `k${i}:g${i}`).join("\n") + "\n";
  assert.equal((await runnel(["produce", "grouped", "-k", ":", ...b], { input })).code, 0);
  const first = await runnel(["consume", "grouped", "-g", "cli-group", "-n", "5", ...b]);
  assert.equal(first.code, 0, first.stderr);
  const second = await runnel(["consume", "grouped", "-g", "cli-group", "-e", ...b]);
  assert.equal(second.code, 0, second.stderr);
  const a = first.stdout.trim().split("\n");
  const rest = second.stdout.trim().split("\n").filter((l) => l !== "");
  assert.equal(a.length, 5);
  assert.equal(rest.length, 7, `second run printed ${rest}`);
  assert.deepEqual([...a, ...rest].sort(), Array.from({ length: 12 }, (_, i) => `g${i}`).sort());
});

test("produce and consume report bad input and usage clearly", async () => {
  const noSep = await runnel(["produce", "kv", "-k", "|", ...b], { input: "fine|1\nbroken\n" });
  assert.equal(noSep.code, 1);
  assert.match(noSep.stderr, /line 2 has no key separator '\|'/);
  const badCodec = await runnel(["produce", "kv", "-z", "brotli", ...b], { input: "" });
  assert.equal(badCodec.code, 2);
  assert.match(badCodec.stderr, /--compression must be one of/);
  const noTopic = await runnel(["consume", ...b]);
  assert.equal(noTopic.code, 2);
  const badFormat = await runnel(["consume", "kv", "-F", "xml", ...b]);
  assert.equal(badFormat.code, 2);
  const badPartition = await runnel(["consume", "kv", "-p", "9", "-e", ...b]);
  assert.equal(badPartition.code, 2);
  assert.match(badPartition.stderr, /has no partition 9/);
  const missingFile = await runnel(["produce", "kv", "-f", "/nonexistent/file", ...b]);
  assert.equal(missingFile.code, 2);
  const both = await runnel(["consume", "kv", "--from-beginning", "-o", "3", ...b]);
  assert.equal(both.code, 2);
});

test("consume runs until Ctrl-C, then exits 0 after committing what it printed", async () => {
  await runnel(["topic", "create", "follow", "-p", "1", ...b]);
  const proc = startRunnel(["consume", "follow", "-g", "follower", ...b]);
  // Wait until the consumer has joined, then produce while it follows the topic.
  const deadline = Date.now() + 20_000;
  let produced = 0;
  while (Date.now() < deadline && proc.stdout().split("\n").filter((l) => l !== "").length < 5) {
    await runnel(["produce", "follow", ...b], { input: `f${produced}\n` });
    produced++;
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill("SIGINT");
  const r = await proc.done;
  assert.equal(r.code, 0, r.stderr);
  const printed = r.stdout.trim().split("\n");
  assert.ok(printed.length >= 5, r.stdout);
  assert.match(r.stderr, new RegExp(`Consumed ${printed.length} records`));
  const admin = new Admin({ bootstrap: broker.bootstrap });
  await admin.connect();
  const [offset] = await admin.groupOffsets("follower");
  await admin.close();
  const [first] = printed;
  assert.equal(Number(offset.offset), Number(first.slice(1)) + printed.length, "the commit covers exactly the printed records");
});
