/**
 * A batch the cleaner rebuilds takes the base timestamp Kafka's MemoryRecordsBuilder writes (found by
 * tests/oracle/compaction-random-match-kafka): the first kept record's timestamp, the records' deltas re-encoded
 * against it, so that every record keeps its own time; a LogAppendTime batch's records all take its time.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { openTestLog } from "./log-fixture.ts";
import { appendSealed, initCleanerTestCodecs, keyedBatch, readLog, testCompress, testDecompress } from "./log-cleaner-records.ts";

const TS = 1_700_000_000_000;

for (const codec of [0, 1]) {
  test(`a rebuilt ${codec === 0 ? "uncompressed" : "gzip"} batch's base timestamp is its first kept record's, every record keeping its time`, async () => {
    await initCleanerTestCodecs();
    const t = await openTestLog({ cleanupPolicy: ["compact"] }, { decompress: testDecompress });
    t.deps.compress = testCompress;
    try {
      // a (dt 0) and b (dt 1000) are superseded by later records: the first kept one is c at TS + 2000
      appendSealed(t, keyedBatch([{ k: "a", v: "1", dt: 0 }, { k: "b", v: "1", dt: 1000 }, { k: "c", v: "1", dt: 2000 }, { k: "d", v: "1", dt: 3500 }], { ts: TS, codec }), keyedBatch([{ k: "a", v: "2" }, { k: "b", v: "2", dt: 10 }], { ts: TS + 5000 }));
      const before = readLog(t.log);
      assert.ok((await t.log.compact()) !== null);
      const after = readLog(t.log);
      const first = after.batches[0];
      assert.equal(first.count, 2);
      assert.equal(first.baseTimestamp, BigInt(TS + 2000), "base timestamp: the first kept record's (Kafka), not the old base");
      assert.equal(first.maxTimestamp, BigInt(TS + 3500));
      const times = new Map(before.records.map((r) => [r.offset, r.timestamp]));
      for (const r of after.records) assert.equal(r.timestamp, times.get(r.offset), `record ${r.offset} keeps its timestamp`);
    } finally {
      await t.cleanup();
    }
  });
}

test("a rebuilt LogAppendTime batch: base timestamp and every record's time are the batch's append time", async () => {
  await initCleanerTestCodecs();
  const t = await openTestLog({ cleanupPolicy: ["compact"], messageTimestampType: "LogAppendTime" }, { decompress: testDecompress });
  try {
    appendSealed(t, keyedBatch([{ k: "a", v: "1", dt: 0 }, { k: "c", v: "1", dt: 2000 }, { k: "d", v: "1", dt: 3500 }], { ts: TS }), keyedBatch([{ k: "a", v: "2" }], { ts: TS + 5000 }));
    const before = readLog(t.log);
    const appendTime = before.batches[0].maxTimestamp;
    assert.ok((await t.log.compact()) !== null);
    const after = readLog(t.log);
    assert.equal(after.batches[0].count, 2);
    assert.equal(after.batches[0].baseTimestamp, appendTime);
    assert.equal(after.batches[0].maxTimestamp, appendTime);
    for (const r of after.records.filter((x) => x.offset < 3n)) assert.equal(r.timestamp, Number(appendTime));
  } finally {
    await t.cleanup();
  }
});
