/**
 * Crash recovery of a delete-policy log keeps the segments that follow a legitimate offset gap at a segment roll: a
 * follower appends a compacted leader's batches with their offsets, and when the batch after a gap rolls a new
 * segment, an unclean restart must still find every replicated record at its offset. The protection the recovery
 * rule exists for stays: when the segment before a roll lost its tail (a power cut kept the later segment but not
 * the earlier one's unsynced end), nothing after the hole is kept.
 */
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { offsetFileStem } from "../../src/storage/log-file-names.ts";
import type { PartitionLog } from "../../src/storage/partition-log.ts";
import { batchBaseOffsets, makeBatch } from "./batch-fixture.ts";
import { openTestLog, type TestLog } from "./log-fixture.ts";

/** A batch of `count` records of about 100 bytes each, at `base` (a replicated batch keeps its offsets). */
function batchAt(base: bigint, count: number): Uint8Array {
  const records = Array.from({ length: count }, (_, i) => ({ timestampDelta: i, value: new Uint8Array(100).fill(i) }));
  return makeBatch({ records, baseOffset: base, baseTimestamp: 1_700_000_000_000 + Number(base) });
}

/** Offsets [base, last] of every batch a full read returns. */
function batchesRead(log: PartitionLog): bigint[] {
  return batchBaseOffsets(log.read(log.logStartOffset, 1 << 20, true).chunks);
}

/** Follower appends of 3-record batches (about 400 bytes) at `bases`, into 1000-byte segments. */
async function followerLog(bases: bigint[]): Promise<TestLog> {
  const t = await openTestLog({ segmentBytes: 1000, cleanupPolicy: ["delete"] });
  for (const b of bases) t.log.appendWithOffsets(batchAt(b, 3));
  return t;
}

// Two batches fill a segment; the third rolls. Gaps: 6 -> 50 (the roll), 53 -> 60, and 63 -> 200 (the next roll).
const BASES = [0n, 3n, 50n, 60n, 200n, 203n];

test("an unclean restart keeps every replicated batch after a gap at a segment roll (delete policy)", async () => {
  for (const recoveryPoint of [undefined, 0n]) {
    const t = await followerLog(BASES);
    try {
      assert.ok(t.log.segmentCount >= 3, `the gaps fell at rolls: segments ${t.log.segmentBaseOffsets().join(",")}`);
      assert.deepEqual(batchesRead(t.log), BASES);
      const leo = t.log.logEndOffset;
      const log = await t.reopen({ crash: true, state: recoveryPoint === undefined ? {} : { recoveryPoint } });
      assert.deepEqual(batchesRead(log), BASES, `after the restart (recovery point ${recoveryPoint}): ${t.logger.lines.join("\n")}`);
      assert.equal(log.logEndOffset, leo);
      // Reads from inside a gap get the next batch, as before the restart.
      assert.deepEqual(batchBaseOffsets(log.read(10n, 1 << 20, true).chunks), BASES.slice(2));
      assert.deepEqual(batchBaseOffsets(log.read(100n, 1 << 20, true).chunks), BASES.slice(4));
      // And the follower goes on appending at the end.
      assert.equal(log.appendWithOffsets(batchAt(leo + 7n, 3)).baseOffset, leo + 7n);
      const again = await t.reopen({ crash: true });
      assert.deepEqual(batchesRead(again), [...BASES, leo + 7n]);
    } finally {
      await t.cleanup();
    }
  }
});

test("a segment that lost its tail before a roll still takes the later segments with it", async () => {
  for (const gap of [false, true]) {
    const bases = gap ? BASES : [0n, 3n, 6n, 9n, 12n, 15n];
    const t = await followerLog(bases);
    try {
      const segments = t.log.segmentBaseOffsets();
      assert.ok(segments.length >= 3, `segments ${segments.join(",")}`);
      await t.log.close();
      // A power cut lost the first segment's unsynced last batch (its file ends cleanly at the batch before) but kept
      // the segments written after it.
      const first = `${t.dir}/${offsetFileStem(segments[0])}.log`;
      const bytes = nodeFs.readFileSync(first);
      nodeFs.writeFileSync(first, bytes.subarray(0, bytes.length / 2));
      const log = await t.reopen({ crash: true, state: {} });
      assert.deepEqual(batchesRead(log), [0n], `gap ${gap}: ${t.logger.lines.join("\n")}`);
      assert.equal(log.logEndOffset, 3n);
      assert.deepEqual(log.segmentBaseOffsets(), [0n]);
      assert.ok(t.logger.lines.some((l) => /deleted \d+ segment\(s\) after a gap at offset 3/.test(l)), t.logger.lines.join("\n"));
    } finally {
      await t.cleanup();
    }
  }
});

test("a gap too wide for the index starts the new segment at its first batch, and an unclean restart keeps it", async () => {
  const far = 3_000_000_000n; // more than 2^31 - 1 offsets past the log end: not addressable from the old segment
  const t = await followerLog([0n, far, far + 3n]);
  try {
    assert.deepEqual(t.log.segmentBaseOffsets(), [0n, far]);
    const log = await t.reopen({ crash: true, state: {} });
    assert.deepEqual(batchesRead(log), [0n, far, far + 3n], t.logger.lines.join("\n"));
    assert.equal(log.logEndOffset, far + 6n);
  } finally {
    await t.cleanup();
  }
});
