import assert from "node:assert/strict";
import { test } from "node:test";
import { openTestLog, type TestLog } from "./log-fixture.ts";
import { type KV, keyedBatch, readLog } from "./log-cleaner-records.ts";

const HOUR = 3_600_000;

/** Appends one batch per record group (segment.bytes is tiny, so each is a segment), then a filler to seal them. */
function put(t: TestLog, ...groups: KV[][]): void {
  for (const g of groups) t.log.append(keyedBatch(g, { ts: t.clock.nowMs() }), { leaderEpoch: 0 });
  t.log.append(keyedBatch([{ k: "filler", v: "f" }], { ts: t.clock.nowMs() }), { leaderEpoch: 0 });
  t.log.highWatermark = t.log.logEndOffset;
}

test("a tombstone removes older values at once, is kept with a delete horizon, and goes after delete.retention.ms", async () => {
  const t = await openTestLog({ cleanupPolicy: ["compact"], segmentBytes: 100, deleteRetentionMs: HOUR });
  try {
    put(t, [{ k: "a", v: "1" }, { k: "b", v: "1" }], [{ k: "a", v: null }]);
    const before = readLog(t.log);
    const tombstoneTs = before.records.find((r) => r.key === "a" && r.value === null)!.timestamp;
    const now = t.clock.nowMs();
    const r1 = await t.log.compact(now);
    assert.ok(r1 !== null);
    let after = readLog(t.log);
    assert.deepEqual(
      after.records.filter((r) => r.key !== "filler").map((r) => [r.offset, r.key, r.value]),
      [
        [1n, "b", "1"],
        [2n, "a", null],
      ],
    );
    const tombBatch = after.batches.find((b) => b.baseOffset === 2n)!;
    assert.equal(tombBatch.hasDeleteHorizon, true, "the batch now carries a delete horizon");
    assert.equal(tombBatch.baseTimestamp, BigInt(now + HOUR), "the horizon is in baseTimestamp");
    assert.equal(after.records.find((r) => r.offset === 2n)!.timestamp, tombstoneTs, "record timestamps survive the new base");

    // Before the horizon: another pass keeps the tombstone (and its horizon does not move).
    t.clock.advance(HOUR / 2);
    put(t, [{ k: "c", v: "1" }]);
    await t.log.compact();
    after = readLog(t.log);
    assert.ok(after.records.some((r) => r.offset === 2n && r.value === null));
    assert.equal(after.batches.find((b) => b.baseOffset === 2n)!.baseTimestamp, BigInt(now + HOUR));

    // Past the horizon the tombstone goes, and with it key a.
    t.clock.advance(HOUR);
    put(t, [{ k: "d", v: "1" }]);
    const r3 = await t.log.compact();
    assert.ok(r3 !== null);
    assert.equal(r3.tombstonesRemoved, 1);
    after = readLog(t.log);
    assert.ok(!after.records.some((r) => r.key === "a"), "no record of key a is left");
    assert.deepEqual(
      after.records.filter((r) => r.key !== "filler").map((r) => r.key),
      ["b", "c", "d"],
    );
  } finally {
    await t.cleanup();
  }
});

test("a tombstone followed by a new value is removed like any superseded record", async () => {
  const t = await openTestLog({ cleanupPolicy: ["compact"], segmentBytes: 100, deleteRetentionMs: HOUR });
  try {
    put(t, [{ k: "a", v: "1" }], [{ k: "a", v: null }], [{ k: "a", v: "2" }]);
    await t.log.compact();
    const recs = readLog(t.log).records.filter((r) => r.key === "a");
    assert.deepEqual(recs.map((r) => [r.offset, r.value]), [[2n, "2"]]);
  } finally {
    await t.cleanup();
  }
});

test("tombstones in LogAppendTime batches keep the batch's append time as max timestamp", async () => {
  const t = await openTestLog({ cleanupPolicy: ["compact"], segmentBytes: 100, deleteRetentionMs: HOUR, messageTimestampType: "LogAppendTime" });
  try {
    put(t, [{ k: "a", v: "1" }, { k: "a", v: null }]);
    const before = readLog(t.log).batches[0];
    await t.log.compact();
    const b = readLog(t.log).batches[0];
    assert.equal(b.count, 1);
    assert.equal(b.maxTimestamp, before.maxTimestamp);
    assert.equal(b.hasDeleteHorizon, true);
    assert.equal(b.lastOffset, 1n, "the last offset of the batch is kept");
  } finally {
    await t.cleanup();
  }
});
