/**
 * Issue 3 acceptance with kcat (librdkafka): `kcat -L` lists a 6-partition topic, 10,000 keyed records with a
 * header produced by kcat come back byte-exact with contiguous offsets and per-partition order, and `kcat -Q`
 * (ListOffsets by timestamp) returns the first offset at or after a timestamp.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { haveCommand, runProc } from "../support/proc.ts";

const skip = haveCommand("kcat") ? false : "kcat is not installed (tests/setup.sh installs it as root)";
const COUNT = 10_000;

/** Deterministic printable value for record i (kcat -P is line-based). */
function valueOf(i: number): string {
  let x = (i * 2654435761) >>> 0;
  let s = "";
  for (let j = 0; j < 20 + (i % 50); j++) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += "abcdefghijklmnopqrstuvwxyz0123456789"[x % 36];
  }
  return s;
}

test("kcat: -L lists the topic, 10,000 keyed records with headers round-trip, -Q finds offsets by time", { skip }, async () => {
  const b = await startTestBroker({ "num.partitions": "6" });
  try {
    const topic = "kcat-rt";
    await b.broker.createTopic(topic, 6, 1, {}, false);
    const list = await runProc("kcat", ["-b", b.bootstrap, "-L", "-t", topic], { timeoutMs: 30_000 });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`topic "${topic}" with 6 partitions`));

    const lines: string[] = [];
    for (let i = 0; i < COUNT; i++) lines.push(`key-${i}\t${valueOf(i)}`);
    const prod = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", topic, "-K", "\t", "-H", "source=kcat", "-X", "acks=all"], {
      input: lines.join("\n") + "\n",
      timeoutMs: 60_000,
    });
    assert.equal(prod.code, 0, prod.stderr);

    const cons = await runProc("kcat", ["-C", "-b", b.bootstrap, "-t", topic, "-o", "beginning", "-e", "-u", "-f", "%p\t%o\t%k\t%s\t%h\t%T\n"], {
      timeoutMs: 60_000,
    });
    assert.equal(cons.code, 0, cons.stderr);
    const rows = cons.stdout.split("\n").filter((l) => l !== "").map((l) => l.split("\t"));
    assert.equal(rows.length, COUNT);
    const perPartition = new Map<number, { offset: number; i: number; ts: number }[]>();
    for (const [p, o, k, v, h, ts] of rows) {
      const i = Number(k.slice(4));
      assert.equal(v, valueOf(i), `value of ${k}`);
      assert.equal(h, "source=kcat");
      let list = perPartition.get(Number(p));
      if (!list) perPartition.set(Number(p), (list = []));
      list.push({ offset: Number(o), i, ts: Number(ts) });
    }
    assert.equal(perPartition.size, 6, "records spread over all 6 partitions");
    const seen = new Set<number>();
    for (const [p, list] of perPartition) {
      list.forEach((r, j) => assert.equal(r.offset, j, `partition ${p} offset at position ${j}`));
      for (let j = 1; j < list.length; j++) assert.ok(list[j].i > list[j - 1].i, `partition ${p} keeps produce order`);
      for (const r of list) seen.add(r.i);
    }
    assert.equal(seen.size, COUNT, "every record exactly once");

    // ListOffsets by timestamp: the first offset in partition 0 whose timestamp is >= the mid record's.
    const p0 = perPartition.get(0)!;
    const mid = p0[Math.floor(p0.length / 2)];
    const want = p0.find((r) => r.ts >= mid.ts)!.offset;
    const q = await runProc("kcat", ["-Q", "-b", b.bootstrap, "-t", `${topic}:0:${mid.ts}`], { timeoutMs: 30_000 });
    assert.equal(q.code, 0, q.stderr);
    assert.match(q.stdout, new RegExp(`${topic} \\[0\\] offset ${want}\\b`));
  } finally {
    await b.stop();
  }
});
