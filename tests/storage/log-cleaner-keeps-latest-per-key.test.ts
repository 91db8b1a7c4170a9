import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { openTestLog } from "./log-fixture.ts";
import { keyedBatch, latestByKey, readLog } from "./log-cleaner-records.ts";

const KEYS = ["a", "b", "c", "d", "e"];

/** Appends `rounds` batches, each updating every key once (value `<key>-<round>`), and marks them committed. */
function fillUpdates(t: Awaited<ReturnType<typeof openTestLog>>, rounds: number, pad = 200): void {
  for (let r = 0; r < rounds; r++) {
    const recs = KEYS.map((k) => ({ k, v: `${k}-${r}-${"x".repeat(pad)}` }));
    t.log.append(keyedBatch(recs, { ts: t.clock.nowMs() }), { leaderEpoch: 0 });
  }
  t.log.highWatermark = t.log.logEndOffset;
}

test("compaction keeps the latest record per key in sealed segments, preserving offsets, and leaves the active segment alone", async () => {
  const t = await openTestLog({ cleanupPolicy: ["compact"], segmentBytes: 4000 });
  try {
    fillUpdates(t, 40);
    const segmentsBefore = t.log.segmentCount;
    assert.ok(segmentsBefore > 5, `expected many segments, got ${segmentsBefore}`);
    const before = readLog(t.log);
    const activeBase = t.log.segmentBaseOffsets().at(-1)!;
    const sizeBefore = t.log.size;

    const result = await t.log.compact();
    assert.ok(result !== null);
    assert.equal(result.abandoned, null);
    assert.equal(result.cleanedUpTo, activeBase, "cleaned up to the active segment");
    assert.equal(t.log.cleanerCheckpoint, activeBase);
    assert.ok(result.recordsRemoved > 0);
    assert.ok(t.log.size < sizeBefore / 2, `size ${t.log.size} should be well below ${sizeBefore}`);

    const after = readLog(t.log);
    // Same latest value per key, same log end, every surviving record at its original offset.
    assert.deepEqual(latestByKey(after.records), latestByKey(before.records));
    assert.equal(t.log.logEndOffset, BigInt(40 * KEYS.length));
    const original = new Map(before.records.map((r) => [r.offset, r]));
    for (const r of after.records) assert.deepEqual(r, original.get(r.offset), `record at ${r.offset} unchanged`);
    // Below the active segment each key appears once; the active segment is untouched.
    const cleaned = after.records.filter((r) => r.offset < activeBase);
    assert.equal(new Set(cleaned.map((r) => r.key)).size, cleaned.length, "one record per key in the cleaned section");
    assert.deepEqual(
      after.records.filter((r) => r.offset >= activeBase),
      before.records.filter((r) => r.offset >= activeBase),
    );
    // Offsets increase strictly across batches (gaps allowed).
    for (let i = 1; i < after.batches.length; i++) assert.ok(after.batches[i].baseOffset > after.batches[i - 1].lastOffset);
    assert.equal(nodeFs.readdirSync(t.dir).filter((n) => /\.(cleaned|swap|deleted)$/.test(n)).length, 0, "no leftovers");

    // Nothing new is dirty: another pass has nothing to do.
    assert.equal(await t.log.compact(), null);
  } finally {
    await t.cleanup();
  }
});

test("reads by any offset work across cleaned segments, including offsets that were compacted away", async () => {
  const t = await openTestLog({ cleanupPolicy: ["compact"], segmentBytes: 4000, indexIntervalBytes: 300 });
  try {
    fillUpdates(t, 30);
    await t.log.compact();
    const after = readLog(t.log);
    const surviving = after.records.map((r) => r.offset);
    for (let o = 0n; o < t.log.logEndOffset; o++) {
      const r = t.log.read(o, 1, true);
      assert.equal(r.batches, 1, `a read at ${o} returns a batch`);
      const next = surviving.find((s) => s >= o)!;
      assert.ok(r.firstOffset <= next, `read at ${o} starts at or before the next surviving record ${next}`);
      assert.ok(r.nextOffset > o);
    }
    const hit = t.log.offsetForTimestamp(0);
    assert.ok(hit !== null);
    assert.equal(hit.offset, surviving[0]);
  } finally {
    await t.cleanup();
  }
});

test("the compacted log survives a clean restart and a crash restart, indexes and all", async () => {
  const t = await openTestLog({ cleanupPolicy: ["compact"], segmentBytes: 4000, indexIntervalBytes: 200 });
  try {
    fillUpdates(t, 30);
    await t.log.compact();
    const after = readLog(t.log);
    const checkpoint = t.log.cleanerCheckpoint;
    let log = await t.reopen({ state: { cleanerCheckpoint: checkpoint } });
    assert.deepEqual(readLog(log), after);
    assert.equal(log.cleanerCheckpoint, checkpoint);
    log = await t.reopen({ crash: true });
    assert.deepEqual(readLog(log), after);
    assert.ok(!t.logger.lines.some((l) => l.includes("rebuilding indexes")), t.logger.lines.join("\n"));
    assert.equal(log.append(keyedBatch([{ k: "a", v: "new" }]), { leaderEpoch: 0 }).baseOffset, 150n);
  } finally {
    await t.cleanup();
  }
});

test("later passes clean only new dirty data and never lose the latest value", async () => {
  const t = await openTestLog({ cleanupPolicy: ["compact"], segmentBytes: 4000 });
  try {
    const expected = new Map<string, string>();
    for (let pass = 0; pass < 4; pass++) {
      for (let r = 0; r < 15; r++) {
        const recs = KEYS.slice(0, 2 + pass).map((k) => ({ k, v: `${k}-${pass}-${r}-${"y".repeat(150)}` }));
        for (const x of recs) expected.set(x.k, x.v);
        t.log.append(keyedBatch(recs), { leaderEpoch: 0 });
      }
      t.log.highWatermark = t.log.logEndOffset;
      const res = await t.log.compact();
      assert.ok(res !== null && res.abandoned === null);
      assert.deepEqual(new Map([...latestByKey(readLog(t.log).records)]), expected);
    }
  } finally {
    await t.cleanup();
  }
});

test("records below min.compaction.lag.ms stay dirty; the high watermark bounds cleaning", async () => {
  const HOUR = 3_600_000;
  const t = await openTestLog({ cleanupPolicy: ["compact"], segmentBytes: 4000, minCompactionLagMs: HOUR });
  try {
    fillUpdates(t, 20);
    assert.equal(await t.log.compact(), null, "everything is younger than the lag");
    t.clock.advance(2 * HOUR);
    fillUpdates(t, 20);
    const res = await t.log.compact();
    assert.ok(res !== null);
    assert.ok(res.cleanedUpTo <= 100n, `only the old records are cleanable, cleaned to ${res.cleanedUpTo}`);
    assert.ok(res.cleanedUpTo > 0n);
    const recs = readLog(t.log).records;
    assert.ok(recs.filter((r) => r.offset >= 100n).length === 100, "young records untouched");
  } finally {
    await t.cleanup();
  }
});

test("segments that shrank are grouped into one cleaned segment up to segment.bytes on the next pass", async () => {
  const t = await openTestLog({ cleanupPolicy: ["compact"], segmentBytes: 4000 });
  try {
    fillUpdates(t, 40);
    await t.log.compact();
    const cleanedSegments = t.log.segmentCount - 1;
    assert.ok(cleanedSegments > 5);
    fillUpdates(t, 10);
    const res = await t.log.compact();
    assert.ok(res !== null);
    assert.ok(res.segmentsAfter < res.segmentsBefore, `${res.segmentsBefore} segments grouped into ${res.segmentsAfter}`);
    const bases = t.log.segmentBaseOffsets();
    assert.ok(bases[1] >= 190n, `the old cleaned segments became one: ${bases.join(",")}`);
    assert.ok(t.log.segmentCount - 1 < cleanedSegments);
    assert.equal(t.log.segmentBaseOffsets()[0], 0n, "the group keeps the first segment's base offset");
    assert.equal(latestByKey(readLog(t.log).records).get("a")!.slice(0, 5), "a-9-x");
  } finally {
    await t.cleanup();
  }
});

test("keyless records in the cleaned section are removed, as Kafka's cleaner does", async () => {
  const t = await openTestLog({ cleanupPolicy: ["compact"], segmentBytes: 100 });
  try {
    t.log.append(keyedBatch([{ k: null, v: "no key" }, { k: "a", v: "1" }]), { leaderEpoch: 0 });
    t.log.append(keyedBatch([{ k: "a", v: "2" }]), { leaderEpoch: 0 });
    t.log.append(keyedBatch([{ k: "b", v: "3" }]), { leaderEpoch: 0 });
    t.log.highWatermark = t.log.logEndOffset;
    assert.equal(t.log.segmentCount, 3);
    const res = await t.log.compact();
    assert.ok(res !== null);
    assert.deepEqual(
      readLog(t.log).records.map((r) => [r.offset, r.key, r.value]),
      [
        [2n, "a", "2"],
        [3n, "b", "3"],
      ],
    );
    const batches = readLog(t.log).batches;
    assert.equal(batches[0].baseOffset, 0n, "the emptied first batch is gone, but the segment keeps its base");
  } finally {
    await t.cleanup();
  }
});
