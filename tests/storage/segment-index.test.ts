import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog } from "./log-fixture.ts";

const STEM = "00000000000000000000";

function entries(path: string, size: number): DataView[] {
  const bytes = nodeFs.readFileSync(path);
  const out: DataView[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(new DataView(bytes.buffer, bytes.byteOffset + at, size));
  return out;
}

test("the offset index is sparse: one entry per index.interval.bytes, batch last offset with batch start position", async () => {
  const t = await openTestLog({ indexIntervalBytes: 4096 });
  try {
    const positions: number[] = [];
    const lastOffsets: bigint[] = [];
    let pos = 0;
    for (let i = 0; i < 40; i++) {
      const batch = makeRecordsBatch(3, 1_700_000_000_000 + i, 300); // ~1 KB each
      const r = t.log.append(batch, { leaderEpoch: 0 });
      positions.push(pos);
      lastOffsets.push(r.lastOffset);
      pos += batch.length;
    }
    const batchSize = positions[1];
    const index = entries(`${t.dir}/${STEM}.index`, 8);
    assert.equal(nodeFs.statSync(`${t.dir}/${STEM}.index`).size % 8, 0);
    // Expected: an entry at the first batch that starts once >= 4096 bytes were appended since the last entry.
    const expected: [number, number][] = [];
    let since = 0;
    for (let i = 0; i < positions.length; i++) {
      if (since >= 4096) {
        expected.push([Number(lastOffsets[i]), positions[i]]);
        since = 0;
      }
      since += batchSize;
    }
    assert.ok(expected.length >= 6 && expected.length <= 10, `sparse: ${expected.length} entries for 40 batches`);
    assert.deepEqual(index.map((e) => [e.getInt32(0), e.getInt32(4)]), expected);
  } finally {
    await t.cleanup();
  }
});

test("the time index keeps only increasing timestamps and the sealed segment's max is its last entry", async () => {
  const t = await openTestLog({ indexIntervalBytes: 0, segmentBytes: 1 << 20 });
  try {
    const stamps = [100, 300, 200, 300, 500, 400];
    for (const ts of stamps) t.log.append(makeRecordsBatch(1, ts), { leaderEpoch: 0 });
    await t.log.close();
    const time = entries(`${t.dir}/${STEM}.timeindex`, 12).map((e) => [Number(e.getBigInt64(0)), e.getInt32(8)]);
    assert.deepEqual(time, [
      [100, 0],
      [300, 1],
      [500, 4],
    ]);
    const off = entries(`${t.dir}/${STEM}.index`, 8).map((e) => e.getInt32(0));
    assert.deepEqual(off, [0, 1, 2, 3, 4, 5], "interval 0 indexes every batch");
  } finally {
    await t.cleanup();
  }
});

test("a full index rolls the segment", async () => {
  // 24 bytes: room for 3 offset entries and 2 time entries.
  const t = await openTestLog({ indexIntervalBytes: 0, segmentIndexBytes: 24 });
  try {
    for (let i = 0; i < 7; i++) t.log.append(makeRecordsBatch(1, 1000 + i), { leaderEpoch: 0 });
    assert.ok(t.log.segmentCount >= 3, `rolled on full index (${t.log.segmentCount} segments)`);
    for (const f of nodeFs.readdirSync(t.dir).filter((n) => n.endsWith(".index"))) {
      assert.ok(nodeFs.statSync(`${t.dir}/${f}`).size <= 24);
    }
    assert.equal(t.log.read(0n, 1 << 20, false).batches, 7);
  } finally {
    await t.cleanup();
  }
});
