/**
 * Retention never rebuilds a missing index on the event loop in one go: a segment past retention.ms whose
 * `.timeindex` is missing (its largest timestamp is read from it) is rebuilt step by step and judged at the next
 * retention check, which then deletes it.
 */
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog } from "./log-fixture.ts";

const HOUR = 3_600_000;

test("a segment past retention.ms with a missing time index is deleted at the check after its stepwise rebuild", async () => {
  const t = await openTestLog({ segmentBytes: 1000, retentionMs: 2 * HOUR });
  try {
    const now = t.clock.nowMs();
    // Segments of 2 batches: 5h old, 1h old, and the active one.
    for (const age of [5, 5, 1, 1, 0, 0]) t.log.append(makeRecordsBatch(2, now - age * HOUR, 150), { leaderEpoch: 0 });
    const end = t.log.logEndOffset;
    await t.log.close();
    const timeIndex = `${t.dir}/00000000000000000000.timeindex`;
    nodeFs.rmSync(timeIndex);
    const log = await t.reopen({ crash: true, state: { cleanShutdown: true, recoveryPoint: end } });
    log.highWatermark = log.logEndOffset;
    assert.equal(log.enforceRetention(now).deletedSegments, 0, "the first check only starts the rebuild");
    assert.ok(t.logger.lines.some((l) => l.includes("rebuilding indexes of segment 0")));
    for (let i = 0; i < 500 && !nodeFs.existsSync(timeIndex); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(nodeFs.existsSync(timeIndex), "the time index was rebuilt");
    const r = log.enforceRetention(now);
    assert.equal(r.deletedSegments, 1);
    assert.equal(log.logStartOffset, 4n);
  } finally {
    await t.cleanup();
  }
});
