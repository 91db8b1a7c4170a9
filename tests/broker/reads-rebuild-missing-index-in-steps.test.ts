/**
 * Issue 15, "nothing blocks the event loop", for lazy index rebuilds: a Fetch or a ListOffsets by timestamp into a
 * sealed segment whose `.index` is missing (found only when a read first needs it) gets the right answer, and the
 * broker walks the segment's batch headers to rebuild the index over several event-loop turns
 * (INDEX_REBUILD_BATCHES_PER_STEP headers per turn), not in one go inside the request; the rebuilt index file is
 * back on disk afterwards. Against a sharded node (a separate process: no file system can be injected to see the loop
 * turns) the same test checks the answer and the rebuilt index file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { setImmediate } from "node:timers";
import type { FileSystem } from "../../src/platform/fs.ts";
import { readNotingFileSystem } from "../support/read-noting-fs.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { INDEX_REBUILD_BATCHES_PER_STEP } from "../../src/storage/segment.ts";
import { RawClient } from "../support/raw-client.ts";
import { startTestBroker } from "../support/broker.ts";
import { testShards } from "../support/broker-process.ts";
import { batchBaseOffsets, makeRecordsBatch } from "../storage/batch-fixture.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();

const FIRST_LOG = /\/ri-0\/00000000000000000000\.log$/;

/** The real file system, noting for each read of the first segment's `.log` the event-loop turn it happened in. */
function turnNotingFs(turn: () => number): { fs: FileSystem; readTurns: number[] } {
  const readTurns: number[] = [];
  const fs = readNotingFileSystem((path) => {
    if (FIRST_LOG.test(path)) readTurns.push(turn());
  });
  return { fs, readTurns };
}

const fetchRequest = (fetchOffset: bigint) => ({
  replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
  topics: [{ topic: "ri", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 64 * 1024 }] }],
  forgottenTopicsData: [], rackId: "",
});

const BATCHES = 6 * INDEX_REBUILD_BATCHES_PER_STEP;

/**
 * A stopped broker's data dir holding topic `ri` whose first (sealed) segment has BATCHES one-record batches with
 * timestamps T0, T0+1, ... and no `.index`; `expectedAt3000` is what a fetch at offset 3000 returns.
 */
async function dirWithMissingIndex(): Promise<{ dir: string; index: string; good: Buffer; expectedAt3000: bigint[]; t0: number }> {
  const b = await startTestBroker();
  try {
    await b.broker.createTopic("ri", 1, 1, { "segment.bytes": String(1 << 20) }, false);
    const producer = await RawClient.connect(b.port);
    const t0 = Date.now() - 3_600_000;
    const small: Uint8Array[] = [];
    for (let i = 0; i < BATCHES; i++) small.push(makeRecordsBatch(1, t0 + i, 20));
    const produce = (records: Uint8Array) => producer.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 10_000, topicData: [{ name: "ri", partitionData: [{ index: 0, records }] }] });
    // one batch per request, as Kafka requires from Produce v3 (pipelined on the one connection, so in order)
    const answers = await Promise.all(small.map((batch) => produce(batch)));
    assert.ok(answers.every((r1) => r1.responses[0].partitionResponses[0].errorCode === ErrorCode.NONE));
    // One large batch that does not fit the first segment: it rolls, sealing the segment of small batches.
    const r2 = await produce(makeRecordsBatch(1, t0 + BATCHES, 600 * 1024));
    assert.equal(r2.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    const read = (await producer.request(1, 12, fetchRequest(3000n))).responses[0].partitions[0];
    assert.equal(read.errorCode, ErrorCode.NONE);
    const expectedAt3000 = batchBaseOffsets([read.records as Uint8Array]);
    producer.close();
    await b.stop({ keepDir: true });
    const segments = nodeFs.readdirSync(`${b.dir}/ri-0`).filter((n) => n.endsWith(".log")).sort();
    assert.deepEqual(segments, [0, BATCHES].map((o) => `${String(o).padStart(20, "0")}.log`));
    const index = `${b.dir}/ri-0/00000000000000000000.index`;
    const good = nodeFs.readFileSync(index);
    nodeFs.rmSync(index);
    return { dir: b.dir, index, good, expectedAt3000, t0 };
  } catch (e) {
    await b.stop();
    throw e;
  }
}

/** Restarts a broker on `dir` over a file system noting the loop turn of each read of the first segment's `.log`. */
async function restartNotingTurns(dir: string) {
  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  const { fs, readTurns } = turnNotingFs(() => turns);
  const b = await startTestBroker({}, dir, undefined, testShards() === 1 ? { fs } : {});
  tick();
  const c = await RawClient.connect(b.port);
  return {
    b,
    c,
    readTurns,
    async stop() {
      ticking = false;
      c.close();
      await b.stop();
    },
  };
}

for (const api of ["Fetch", "ListOffsets by timestamp"] as const) {
  test(`a ${api} into a segment with a missing index rebuilds it over several loop turns`, { timeout: 60_000 }, async () => {
    const d = await dirWithMissingIndex();
    const r = await restartNotingTurns(d.dir);
    try {
      const before = r.readTurns.length;
      if (api === "Fetch") {
        const answer = (await r.c.request(1, 12, fetchRequest(3000n))).responses[0].partitions[0];
        assert.equal(answer.errorCode, ErrorCode.NONE);
        assert.deepEqual(batchBaseOffsets([answer.records as Uint8Array]), d.expectedAt3000);
      } else {
        const answer = await r.c.request(2, 9, { replicaId: -1, isolationLevel: 0, topics: [{ name: "ri", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: BigInt(d.t0 + 4000) }] }], timeoutMs: 5000 });
        const p = answer.topics[0].partitions[0];
        assert.equal(p.errorCode, ErrorCode.NONE);
        assert.equal(p.offset, 4000n);
        assert.equal(p.timestamp, BigInt(d.t0 + 4000));
      }
      const scanTurns = new Set(r.readTurns.slice(before));
      if (testShards() === 1) assert.ok(scanTurns.size >= 4, `the header walk of ${BATCHES} batches spread over several loop turns (turns ${[...scanTurns].join(",")})`);
      for (let i = 0; i < 500 && !nodeFs.existsSync(d.index); i++) await new Promise((res) => setTimeout(res, 10));
      assert.deepEqual([...nodeFs.readFileSync(d.index)], [...d.good], "the index is rewritten as it was");
    } finally {
      await r.stop();
    }
  });
}
