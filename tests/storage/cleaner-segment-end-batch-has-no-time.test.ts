/**
 * The empty batch a cleaned segment keeps only to end at its old last offset carries no timestamp (Kafka keeps no
 * such batch), so the time of records that are gone does not count as the log's largest. Found by
 * tests/oracle/compaction-random-match-kafka: after a clean emptied a segment's last batch, the newest record of
 * the partition, ListOffsets max timestamp (-3) found no record (-1) where Kafka answered the newest one left.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { openTestLog } from "./log-fixture.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { appendSealed, keyedBatch, readLog } from "./log-cleaner-records.ts";

const TS = 1_700_000_000_000;

test("a cleaned segment's emptied last batch has no timestamp: max timestamp answers the newest record left", async () => {
  await initCrc32c();
  const a = keyedBatch([{ k: "a", v: "1" }], { ts: TS });
  const b = keyedBatch([{ k: "b", v: "1" }], { ts: TS + 5000 }); // the newest record, superseded below
  // segment.bytes fits a and b: each later segment is its own cleaning group, so b is its group's last batch
  const t = await openTestLog({ cleanupPolicy: ["compact"], segmentBytes: a.length + b.length });
  try {
    appendSealed(t, a, b); // 0, 1; filler 2
    appendSealed(t, keyedBatch([{ k: "b", v: "2" }], { ts: TS + 10 })); // 3; filler 4
    assert.equal(t.log.maxTimestampOffset()?.offset, 1n);
    const result = await t.log.compact();
    assert.ok(result !== null && result.cleanedUpTo === 4n);
    const batches = readLog(t.log).batches;
    const end = batches.find((x) => x.baseOffset === 1n);
    assert.ok(end !== undefined && end.count === 0, `b's batch stays empty, ending the cleaned segment: ${JSON.stringify(batches.map((x) => [String(x.baseOffset), x.count]))}`);
    assert.equal(end.maxTimestamp, -1n);
    assert.deepEqual(t.log.maxTimestampOffset(), { offset: 3n, timestamp: TS + 10, leaderEpoch: 0 });
  } finally {
    await t.cleanup();
  }
});
