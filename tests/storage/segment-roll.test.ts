import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog } from "./log-fixture.ts";

function logFiles(dir: string): string[] {
  return nodeFs.readdirSync(dir).filter((n) => n.endsWith(".log")).sort();
}

test("a segment rolls before an append would pass segment.bytes, named by its base offset", async () => {
  const t = await openTestLog({ segmentBytes: 2500 });
  try {
    const size = makeRecordsBatch(4, 1, 200).length; // ~ 900 bytes
    for (let i = 0; i < 6; i++) t.log.append(makeRecordsBatch(4, 1 + i, 200), { leaderEpoch: 0 });
    const perSegment = Math.floor(2500 / size);
    assert.equal(t.log.segmentCount, Math.ceil(6 / perSegment));
    const files = logFiles(t.dir);
    assert.deepEqual(files, t.log.segmentBaseOffsets().map((b) => `${b.toString().padStart(20, "0")}.log`));
    assert.equal(files[1], `${String(perSegment * 4).padStart(20, "0")}.log`);
    for (const f of files) assert.ok(nodeFs.statSync(`${t.dir}/${f}`).size <= 2500);
  } finally {
    await t.cleanup();
  }
});

test("one batch bigger than segment.bytes still goes in, alone in its segment", async () => {
  const t = await openTestLog({ segmentBytes: 500 });
  try {
    t.log.append(makeRecordsBatch(1, 1, 10), { leaderEpoch: 0 });
    t.log.append(makeRecordsBatch(1, 2, 2000), { leaderEpoch: 0 });
    t.log.append(makeRecordsBatch(1, 3, 10), { leaderEpoch: 0 });
    assert.deepEqual(t.log.segmentBaseOffsets(), [0n, 1n, 2n]);
  } finally {
    await t.cleanup();
  }
});

test("a segment rolls once segment.ms has passed since its first append", async () => {
  const t = await openTestLog({ segmentMs: 60_000 });
  try {
    t.log.append(makeRecordsBatch(1, t.clock.nowMs()), { leaderEpoch: 0 });
    t.clock.advance(30_000);
    t.log.append(makeRecordsBatch(1, t.clock.nowMs()), { leaderEpoch: 0 });
    assert.equal(t.log.segmentCount, 1);
    t.clock.advance(30_001);
    t.log.append(makeRecordsBatch(1, t.clock.nowMs()), { leaderEpoch: 0 });
    assert.deepEqual(t.log.segmentBaseOffsets(), [0n, 2n]);
    t.clock.advance(59_000);
    t.log.append(makeRecordsBatch(1, t.clock.nowMs()), { leaderEpoch: 0 });
    assert.equal(t.log.segmentCount, 2, "the new segment's clock starts at its first append");
  } finally {
    await t.cleanup();
  }
});

test("an idle empty active segment does not roll on its first append", async () => {
  const t = await openTestLog({ segmentMs: 1000 });
  try {
    t.clock.advance(10_000);
    t.log.append(makeRecordsBatch(1, t.clock.nowMs()), { leaderEpoch: 0 });
    assert.equal(t.log.segmentCount, 1);
  } finally {
    await t.cleanup();
  }
});

test("segment.ms counts in record time, as Kafka's LogSegment.timeWaitedForRoll: records stamped apart roll at once, records stamped together never", async () => {
  const t = await openTestLog({ segmentMs: 60_000 });
  try {
    const T = 1_700_000_000_000;
    t.log.append(makeRecordsBatch(1, T), { leaderEpoch: 0 });
    t.log.append(makeRecordsBatch(1, T + 60_000), { leaderEpoch: 0 });
    assert.equal(t.log.segmentCount, 1, "exactly segment.ms apart: no roll");
    t.log.append(makeRecordsBatch(1, T + 60_001), { leaderEpoch: 0 });
    assert.deepEqual(t.log.segmentBaseOffsets(), [0n, 2n], "more than segment.ms after the segment's first append's timestamp, at the same clock time");
    t.clock.advance(10 * 60_000);
    t.log.append(makeRecordsBatch(1, T + 60_002), { leaderEpoch: 0 });
    assert.equal(t.log.segmentCount, 2, "ten segment.ms later by the clock, but stamped 1 ms after the segment's first");
    t.log.append(makeRecordsBatch(1, T - 86_400_000), { leaderEpoch: 0 });
    assert.equal(t.log.segmentCount, 2, "a record stamped earlier never rolls");
  } finally {
    await t.cleanup();
  }
});

test("a compacted topic's segments roll by max.compaction.lag.ms when it is below segment.ms (Kafka's LogConfig.maxSegmentMs)", async () => {
  const T = 1_700_000_000_000;
  for (const [policy, rolls] of [[["compact"], true], [["compact", "delete"], true], [["delete"], false]] as const) {
    const t = await openTestLog({ cleanupPolicy: [...policy], maxCompactionLagMs: 1000 });
    try {
      t.log.append(makeRecordsBatch(1, T), { leaderEpoch: 0 });
      t.log.append(makeRecordsBatch(1, T + 1001), { leaderEpoch: 0 });
      assert.equal(t.log.segmentCount, rolls ? 2 : 1, `cleanup.policy ${policy.join(",")}`);
    } finally {
      await t.cleanup();
    }
  }
});
