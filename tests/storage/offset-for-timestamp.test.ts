import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeRecords, type FixtureRecord, makeBatch } from "./batch-fixture.ts";
import { openTestLog } from "./log-fixture.ts";

const T0 = 1_700_000_000_000;

function batchAt(baseTs: number, deltas: number[]): Uint8Array {
  return makeBatch({ baseTimestamp: baseTs, records: deltas.map((d) => ({ timestampDelta: d, value: new Uint8Array(40) })) });
}

test("offsetForTimestamp returns the first record at or after the timestamp, walking inside the batch", async () => {
  const t = await openTestLog({ indexIntervalBytes: 0, segmentBytes: 600 });
  try {
    // Offsets 0-3: T0+0,10,20,30 (epoch 0); 4-7: T0+40..70 (epoch 1); 8-11: T0+80..110 (epoch 2); across several
    // segments. Each hit carries its batch's leader epoch.
    for (let b = 0; b < 3; b++) t.log.append(batchAt(T0 + b * 40, [0, 10, 20, 30]), { leaderEpoch: b });
    assert.ok(t.log.segmentCount >= 2);
    assert.deepEqual(t.log.offsetForTimestamp(T0 - 5), { offset: 0n, timestamp: T0, leaderEpoch: 0 });
    assert.deepEqual(t.log.offsetForTimestamp(T0 + 10), { offset: 1n, timestamp: T0 + 10, leaderEpoch: 0 });
    assert.deepEqual(t.log.offsetForTimestamp(T0 + 11), { offset: 2n, timestamp: T0 + 20, leaderEpoch: 0 });
    assert.deepEqual(t.log.offsetForTimestamp(T0 + 55), { offset: 6n, timestamp: T0 + 60, leaderEpoch: 1 });
    assert.deepEqual(t.log.offsetForTimestamp(T0 + 110), { offset: 11n, timestamp: T0 + 110, leaderEpoch: 2 });
    assert.equal(t.log.offsetForTimestamp(T0 + 111), null);
  } finally {
    await t.cleanup();
  }
});

test("offsetForTimestamp handles timestamps out of order within and across batches", async () => {
  const t = await openTestLog({ indexIntervalBytes: 0 });
  try {
    t.log.append(batchAt(T0, [50, 0, 100]), { leaderEpoch: 0 }); // 0..2: T0+50, T0, T0+100
    t.log.append(batchAt(T0, [10, 20]), { leaderEpoch: 0 }); // 3..4: older than the max so far
    t.log.append(batchAt(T0, [200]), { leaderEpoch: 0 }); // 5
    assert.deepEqual(t.log.offsetForTimestamp(T0 + 1), { offset: 0n, timestamp: T0 + 50, leaderEpoch: 0 });
    assert.deepEqual(t.log.offsetForTimestamp(T0 + 60), { offset: 2n, timestamp: T0 + 100, leaderEpoch: 0 });
    assert.deepEqual(t.log.offsetForTimestamp(T0 + 150), { offset: 5n, timestamp: T0 + 200, leaderEpoch: 0 });
    assert.deepEqual(t.log.maxTimestampOffset(), { offset: 5n, timestamp: T0 + 200, leaderEpoch: 0 });
  } finally {
    await t.cleanup();
  }
});

test("offsetForTimestamp skips records below the log start offset", async () => {
  const t = await openTestLog();
  try {
    t.log.append(batchAt(T0, [0, 1, 2, 3]), { leaderEpoch: 0 });
    t.log.highWatermark = t.log.logEndOffset;
    t.log.deleteRecordsBefore(2n);
    assert.deepEqual(t.log.offsetForTimestamp(T0), { offset: 2n, timestamp: T0 + 2, leaderEpoch: 0 });
  } finally {
    await t.cleanup();
  }
});

test("compressed batches go through the injected decompressor", async () => {
  const records: FixtureRecord[] = [0, 5, 9].map((d) => ({ timestampDelta: d, value: new Uint8Array(8) }));
  const plain = encodeRecords(records);
  const fake = plain.map((b) => b ^ 0x5a); // "codec 1": xor
  const calls: number[] = [];
  const t = await openTestLog({}, {
    decompress: (codec, section) => {
      calls.push(codec);
      return section.map((b) => b ^ 0x5a);
    },
  });
  try {
    t.log.append(makeBatch({ baseTimestamp: T0, records, section: fake, attributes: 1 }), { leaderEpoch: 0 });
    assert.deepEqual(t.log.offsetForTimestamp(T0 + 4), { offset: 1n, timestamp: T0 + 5, leaderEpoch: 0 });
    assert.deepEqual(calls, [1]);
    assert.deepEqual(t.log.maxTimestampOffset(), { offset: 2n, timestamp: T0 + 9, leaderEpoch: 0 });
  } finally {
    await t.cleanup();
  }
});

test("without a decompressor a compressed batch answers at batch granularity", async () => {
  const records: FixtureRecord[] = [0, 5].map((d) => ({ timestampDelta: d, value: new Uint8Array(8) }));
  const t = await openTestLog();
  try {
    t.log.append(makeBatch({ baseTimestamp: T0, records, section: new Uint8Array(20), attributes: 3 }), { leaderEpoch: 0 });
    assert.deepEqual(t.log.offsetForTimestamp(T0 + 4), { offset: 0n, timestamp: T0 + 5, leaderEpoch: 0 });
  } finally {
    await t.cleanup();
  }
});

test("maxTimestampOffset is null for an empty log and survives a restart", async () => {
  const t = await openTestLog({ segmentBytes: 400 });
  try {
    assert.equal(t.log.maxTimestampOffset(), null);
    t.log.append(batchAt(T0, [0, 300]), { leaderEpoch: 0 });
    t.log.append(batchAt(T0, [100]), { leaderEpoch: 0 });
    t.log.append(batchAt(T0, [200]), { leaderEpoch: 0 });
    const log = await t.reopen();
    assert.deepEqual(log.maxTimestampOffset(), { offset: 1n, timestamp: T0 + 300, leaderEpoch: 0 });
  } finally {
    await t.cleanup();
  }
});
