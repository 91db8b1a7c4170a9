/**
 * A parked long-poll fetch is woken by comparing offsets, not by reading the log: when records arrive, the
 * partition's log file is read only for the answer, as much as one immediate fetch of the same records reads it
 * (before, the wake read the records to count their bytes and the answer read them again).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { FileSystem } from "../../src/platform/fs.ts";
import { readNotingFileSystem } from "../support/read-noting-fs.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { RawClient } from "../support/raw-client.ts";
import { startTestBroker } from "../support/broker.ts";
import { makeRecordsBatch } from "../storage/batch-fixture.ts";

/** The real file system, counting reads of `.log` files in partition directories of topic `lw`. */
function countingFs(): { fs: FileSystem; logReads: () => number } {
  let reads = 0;
  const fs: FileSystem = {
    ...readNotingFileSystem((path) => {
      if (/\/lw-\d+\/\d+\.log$/.test(path)) reads++;
    }),
    // No maps, so every read of the log is a counted pread (the active segment is otherwise mapped for consumers).
    mmap: () => null,
  };
  return { fs, logReads: () => reads };
}

test("a woken long-poll fetch reads the log only for its answer", { timeout: 60_000 }, async () => {
  const { fs, logReads } = countingFs();
  const b = await startTestBroker({}, undefined, undefined, { fs });
  const [consumer, producer] = await Promise.all([RawClient.connect(b.port), RawClient.connect(b.port)]);
  try {
    await b.broker.createTopic("lw", 1, 1, {}, false);
    const p = b.broker.partition("lw", 0)!;
    const fetch = (maxWaitMs: number) => consumer.request(1, 12, {
      replicaId: -1, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: "lw", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: "",
    });
    const longPoll = fetch(30_000);
    for (let i = 0; i < 1000 && p.waitingFetches < 1; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(p.waitingFetches, 1, "the fetch is parked");
    const before = logReads();
    const produced = await producer.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: "lw", partitionData: [{ index: 0, records: makeRecordsBatch(3, Date.now()) }] }] });
    assert.equal(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    const answer = (await longPoll).responses[0].partitions[0];
    assert.equal(answer.errorCode, ErrorCode.NONE);
    assert.equal(answer.highWatermark, 3n);
    assert.ok((answer.records as Uint8Array).length > 0, "the answer carries the records");
    const woken = logReads() - before;
    const beforeAgain = logReads();
    const again = (await fetch(0)).responses[0].partitions[0];
    assert.deepEqual(again.records, answer.records);
    const immediate = logReads() - beforeAgain;
    assert.ok(immediate > 0);
    assert.equal(woken, immediate, "the woken fetch read the log only for its answer");
  } finally {
    consumer.close();
    producer.close();
    await b.stop();
  }
});
