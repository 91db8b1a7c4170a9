/**
 * retention.ms and retention.bytes delete segments only where cleanup.policy includes "delete", as Kafka: a
 * compact-only log (and an empty policy, Kafka 4.4's "infinite retention") keeps segments past both.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog } from "./log-fixture.ts";
import type { CleanupPolicy } from "../../src/storage/log-config.ts";

const HOUR = 3_600_000;

for (const policy of [["compact"], [], ["delete"], ["compact", "delete"]] as CleanupPolicy[][]) {
  test(`cleanup.policy=${policy.join(",")}: retention.ms and retention.bytes ${policy.includes("delete") ? "delete old segments" : "delete nothing"}`, async () => {
    const t = await openTestLog({ segmentBytes: 1000, retentionMs: 2 * HOUR, retentionBytes: 600, cleanupPolicy: policy });
    try {
      const now = Date.now();
      for (const age of [5, 5, 4, 4, 3, 3]) t.log.append(makeRecordsBatch(2, now - age * HOUR, 150), { leaderEpoch: 0 });
      t.log.highWatermark = t.log.logEndOffset;
      const segments = t.log.segmentBaseOffsets().length;
      assert.ok(segments > 1, "several segments");
      const r = t.log.enforceRetention(now);
      if (policy.includes("delete")) assert.ok(r.deletedSegments > 0, "old segments deleted");
      else {
        assert.equal(r.deletedSegments, 0);
        assert.equal(t.log.segmentBaseOffsets().length, segments);
        assert.equal(t.log.logStartOffset, 0n);
      }
    } finally {
      await t.cleanup();
    }
  });
}
