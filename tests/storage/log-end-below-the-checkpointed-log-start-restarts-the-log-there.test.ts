/**
 * A restart whose recovered log ends below the checkpointed log start offset (DeleteRecords up to the high
 * watermark, which on a single replica is the log end, then a power cut that lost the unsynced tail) restarts the
 * log at that log start offset, as Kafka's LogLoader does: offsets below it were reported deleted (the DeleteRecords
 * low watermark) and are never given to new records. Before, the start offset was clamped down to the recovered
 * log end, and the next records took offsets that a consumer positioned at the reported low watermark skips.
 * Found by the one-broker simulation's cleaning workload (tests/sim, `--cleaning` seed 121).
 */
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { offsetFileStem } from "../../src/storage/log-file-names.ts";
import { OffsetOutOfRangeError } from "../../src/storage/storage-errors.ts";
import { batchBaseOffsets, makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog } from "./log-fixture.ts";

test("a log whose recovered end lies below the checkpointed log start offset restarts at that offset", async () => {
  const t = await openTestLog({ cleanupPolicy: ["delete"] });
  try {
    for (let i = 0; i < 3; i++) t.log.append(makeRecordsBatch(3, i, 100), { leaderEpoch: 0 });
    await t.log.sync();
    const durableBytes = nodeFs.statSync(`${t.dir}/${offsetFileStem(0n)}.log`).size;
    const durableEnd = t.log.logEndOffset; // 9
    // acks=1 records: past the high watermark at once on a single replica, not yet synced.
    t.log.append(makeRecordsBatch(3, 3, 100), { leaderEpoch: 0 });
    t.log.highWatermark = t.log.logEndOffset;
    const lowWatermark = t.log.deleteRecordsBefore(t.log.highWatermark); // 12, what the DeleteRecords answer reports
    assert.equal(lowWatermark, durableEnd + 3n);
    // The power goes: the unsynced batch is lost; the log start offset checkpoint had been written.
    nodeFs.truncateSync(`${t.dir}/${offsetFileStem(0n)}.log`, durableBytes);
    const log = await t.reopen({ crash: true, state: { logStartOffset: lowWatermark, recoveryPoint: durableEnd } });
    assert.equal(log.logStartOffset, lowWatermark, t.logger.lines.join("\n"));
    assert.equal(log.logEndOffset, lowWatermark);
    assert.equal(log.highWatermark, lowWatermark);
    assert.throws(() => log.read(durableEnd, 1 << 20, true), OffsetOutOfRangeError);
    // New records never take offsets below the reported low watermark.
    assert.equal(log.append(makeRecordsBatch(2, 9, 100), { leaderEpoch: 0 }).baseOffset, lowWatermark);
    log.highWatermark = log.logEndOffset;
    assert.deepEqual(batchBaseOffsets(log.read(lowWatermark, 1 << 20, true).chunks), [lowWatermark]);
    // And so it stays across another restart.
    await log.sync();
    const again = await t.reopen({ crash: true, state: { logStartOffset: lowWatermark, recoveryPoint: lowWatermark } });
    assert.equal(again.logStartOffset, lowWatermark);
    assert.equal(again.logEndOffset, lowWatermark + 2n);
  } finally {
    await t.cleanup();
  }
});
