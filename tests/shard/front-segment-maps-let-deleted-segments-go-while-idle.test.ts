/**
 * A front's maps of segment files (src/shard/front/segment-maps.ts) let go of a file deleted since it was mapped
 * (retention, compaction) within FRONT_SEGMENT_MAP_SWEEP_MS even when no Fetch comes to that front any more: the
 * sweep runs on a timer, not only on the next Fetch, so an idle accepting thread does not pin a deleted segment's
 * disk space. Closing the maps stops the timer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileIdentity, mmapSupported, nodeFileSystem } from "../../src/platform/fs.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { encodeRecordSlices } from "../../src/storage/record-slices.ts";
import { FRONT_SEGMENT_MAP_SWEEP_MS, SegmentMaps } from "../../src/shard/front/segment-maps.ts";

test("a deleted segment's map is dropped by the timed sweep while no Fetch comes", { skip: mmapSupported() ? false : "mmap is not available in this runtime" }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-segmaps-"));
  const clock = new ManualClock();
  const maps = new SegmentMaps(nodeFileSystem, () => clock.monotonicMs(), fileIdentity, clock);
  try {
    const file = path.join(dir, "00000000000000000000.log");
    fs.writeFileSync(file, new Uint8Array(8192).map((_, i) => i & 0xff));
    const shardMap = nodeFileSystem.mmap(file)!;
    const views = maps.resolve(encodeRecordSlices([shardMap.subarray(0, 8192)]));
    assert.ok(views !== null, "the slice is served from the front's own map");
    assert.equal(maps.size, 1);
    fs.rmSync(file);
    clock.advance(FRONT_SEGMENT_MAP_SWEEP_MS - 1);
    assert.equal(maps.size, 1, "not swept before its time");
    clock.advance(1);
    assert.equal(maps.size, 0, "the deleted file's map is let go without another Fetch");
    fs.writeFileSync(file, new Uint8Array(8192));
    maps.resolve(encodeRecordSlices([nodeFileSystem.mmap(file)!.subarray(0, 8192)]));
    clock.advance(FRONT_SEGMENT_MAP_SWEEP_MS);
    assert.equal(maps.size, 1, "a file still at its path stays mapped");
    maps.close();
    assert.equal(maps.size, 0);
    fs.rmSync(file);
    clock.advance(10 * FRONT_SEGMENT_MAP_SWEEP_MS); // no timer left to fire
  } finally {
    maps.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
