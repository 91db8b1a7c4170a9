/**
 * Issue 15, "decompressing whole batches only to count records": serving compressed batches to a consumer counts
 * their records for the metrics (MessagesOutPerSec) from each batch header's record count; no codec decompresses
 * anything on the fetch path (Fetch serves magic-2 batches as stored: there is no down-conversion). The count is read
 * from the node's /metrics, so against a sharded node (RUNNEL_TEST_SHARDS) the test checks the count and the batches
 * served as stored; that no codec ran is watched in this process, single-shard only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startHttpTestBroker } from "../support/http-broker.ts";
import { metricValue } from "../support/node-metrics.ts";
import { IN_PROCESS } from "../support/group-state.ts";
import { RawClient } from "../support/raw-client.ts";
import { wordBatch } from "../support/word-batch.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { ALL_CODECS, initCompression } from "../../src/compression/index.ts";

await initCrc32c();
await initCompression();

test("a fetch of batches in every codec counts their records without decompressing any", { timeout: 60_000 }, async () => {
  const b = await startHttpTestBroker();
  const c = await RawClient.connect(b.broker.port);
  const saved = ALL_CODECS.map((codec) => ({ codec, decompress: codec.decompress, decompressAsync: codec.decompressAsync }));
  // A sharded node's codecs are in its own process: only a single broker's can be watched from here.
  const pool = IN_PROCESS ? b.broker.codecPool : null;
  const run = pool?.run;
  try {
    await b.broker.createTopic("cz", 1, 1, {}, false);
    let records = 0;
    const batches = ALL_CODECS.map((codec, i) => {
      const w = wordBatch(64 * 1024, { compressor: { codecId: codec.id, compress: (s) => codec.compress(s) }, seed: i + 1 });
      records += w.count;
      return w.batch;
    });
    // one batch per request, as Kafka requires from Produce v3
    for (const batch of batches) {
      const produced = await c.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 10_000, topicData: [{ name: "cz", partitionData: [{ index: 0, records: batch }] }] });
      assert.equal(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    }

    const decompressed: string[] = [];
    for (const { codec, decompress, decompressAsync } of saved) {
      codec.decompress = (data, max) => (decompressed.push(codec.name), decompress(data, max));
      if (decompressAsync) codec.decompressAsync = (data, max) => (decompressed.push(codec.name), decompressAsync(data, max));
    }
    if (pool !== null) pool.run = (codecId, decompress, data, arg) => (decompressed.push(`pool ${codecId}`), run!.call(pool, codecId, decompress, data, arg));
    const answer = (await c.request(1, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 24, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: "cz", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 24 }] }],
      forgottenTopicsData: [], rackId: "",
    })).responses[0].partitions[0];
    assert.equal(answer.errorCode, ErrorCode.NONE);
    assert.equal((answer.records as Uint8Array).length, batches.reduce((n, x) => n + x.length, 0), "every batch served as stored");
    assert.equal(await metricValue(b.url, "kafka_server_brokertopicmetrics_messagesout_total", { topic: "cz" }), records, "records counted from the batch headers");
    assert.deepEqual(decompressed, [], "nothing decompressed on the fetch path");
  } finally {
    for (const { codec, decompress, decompressAsync } of saved) Object.assign(codec, { decompress, decompressAsync });
    if (pool !== null) pool.run = run!;
    c.close();
    await b.stop();
  }
});
