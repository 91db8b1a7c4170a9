/**
 * A parked long-poll fetch is woken by comparing offsets, not by reading the log: when records arrive, the
 * partition's log file is read only for the answer, as much as one immediate fetch of the same records reads it
 * (before, the wake read the records to count their bytes and the answer read them again). The same on a 2-shard
 * node whose shards count their reads (tests/broker/fixtures/log-read-counting-shard-worker.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { FileSystem } from "../../src/platform/fs.ts";
import { readNotingFileSystem } from "../support/read-noting-fs.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { RawClient } from "../support/raw-client.ts";
import { startTestBroker } from "../support/broker.ts";
import { makeRecordsBatch } from "../storage/batch-fixture.ts";
import * as nodeFs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startNodeWithShardWorker, type NodeWithShardWorker } from "../support/node-with-test-shard-worker.ts";
import { HTTP_LINE } from "../support/http-broker.ts";
import { waitForParkedFetches } from "../support/node-metrics.ts";
import { waitFor } from "../support/group-state.ts";

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

/** A Fetch v12 of partition 0 of `lw` from offset 0, waiting up to `maxWaitMs` for one byte. */
function fetchLw(client: RawClient, maxWaitMs: number): Promise<any> {
  return client.request(1, 12, {
    replicaId: -1, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: "lw", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [], rackId: "",
  });
}

/**
 * Parks a long-poll fetch (`parked()` resolves once it is), produces 3 records, and checks that the woken fetch read
 * the log (`logReads()`) only as often as an immediate fetch of the same records does.
 */
async function wokenReadsOnce(port: number, parked: () => Promise<void>, logReads: () => number): Promise<void> {
  const [consumer, producer] = await Promise.all([RawClient.connect(port), RawClient.connect(port)]);
  try {
    const longPoll = fetchLw(consumer, 30_000);
    await parked();
    const before = logReads();
    const produced = await producer.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: "lw", partitionData: [{ index: 0, records: makeRecordsBatch(3, Date.now()) }] }] });
    assert.equal(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    const answer = (await longPoll).responses[0].partitions[0];
    assert.equal(answer.errorCode, ErrorCode.NONE);
    assert.equal(answer.highWatermark, 3n);
    assert.ok((answer.records as Uint8Array).length > 0, "the answer carries the records");
    const woken = logReads() - before;
    const beforeAgain = logReads();
    const again = (await fetchLw(consumer, 0)).responses[0].partitions[0];
    assert.deepEqual(again.records, answer.records);
    const immediate = logReads() - beforeAgain;
    assert.ok(immediate > 0);
    assert.equal(woken, immediate, "the woken fetch read the log only for its answer");
  } finally {
    consumer.close();
    producer.close();
  }
}

test("a woken long-poll fetch reads the log only for its answer", { timeout: 60_000 }, async () => {
  const { fs, logReads } = countingFs();
  const b = await startTestBroker({}, undefined, undefined, { fs });
  try {
    await b.broker.createTopic("lw", 1, 1, {}, false);
    const p = b.broker.partition("lw", 0)!;
    const parked = async () => {
      for (let i = 0; i < 1000 && p.waitingFetches < 1; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(p.waitingFetches, 1, "the fetch is parked");
    };
    await wokenReadsOnce(b.port, parked, logReads);
  } finally {
    await b.stop();
  }
});

test("a 2-shard node: a woken long-poll fetch reads the log only for its answer", { timeout: 120_000 }, async () => {
  const dir = nodeFs.mkdtempSync(path.join(os.tmpdir(), "runnel-sharded-wake-reads-"));
  const counts = path.join(dir, "reads");
  nodeFs.mkdirSync(counts);
  let node: NodeWithShardWorker | null = null;
  try {
    node = await startNodeWithShardWorker(path.join(import.meta.dirname, "fixtures", "log-read-counting-shard-worker.ts"), ["--port", "0", "--data-dir", path.join(dir, "data"), "--shards", "2", "--http", "http://127.0.0.1:0"], { RUNNEL_TEST_LOG_READS_DIR: counts });
    const n = node;
    await waitFor(async () => HTTP_LINE.test(n.log()), 30_000, () => "the node's HTTP line");
    const url = HTTP_LINE.exec(node.log())![1];
    const admin = await RawClient.connect(node.port);
    try {
      const created = await admin.request(19, 7, { topics: [{ name: "lw", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
      assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    } finally {
      admin.close();
    }
    const logReads = () => nodeFs.readdirSync(counts).reduce((n, f) => n + Number(nodeFs.readFileSync(path.join(counts, f), "utf8")), 0);
    await wokenReadsOnce(node.port, () => waitForParkedFetches(url, 1), logReads);
    assert.equal(await node.stop(), 0, node.log().slice(-3000));
  } finally {
    await node?.kill();
    nodeFs.rmSync(dir, { recursive: true, force: true });
  }
});
