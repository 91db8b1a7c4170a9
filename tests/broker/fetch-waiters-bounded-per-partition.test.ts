/**
 * Long-poll fetches parked on one partition are bounded (`fetch.purgatory.max.waiting.per.partition`): a fetch
 * that would pass the bound is answered at once with what there is, while the ones already parked keep waiting
 * and are answered by the next append. Fetches are known parked by the node's fetch purgatory size on /metrics, so the
 * same test runs against a sharded node (docs/sharding.md, "Tests").
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { RawClient } from "../support/raw-client.ts";
import { startHttpTestBroker } from "../support/http-broker.ts";
import { parkedFetches, waitForParkedFetches } from "../support/node-metrics.ts";
import { makeRecordsBatch } from "../storage/batch-fixture.ts";

test("a fetch past the per-partition bound of parked fetches is answered at once", { timeout: 60_000 }, async () => {
  const b = await startHttpTestBroker({ "fetch.purgatory.max.waiting.per.partition": "2" });
  const clients = await Promise.all([0, 1, 2].map(() => RawClient.connect(b.broker.port)));
  try {
    await b.broker.createTopic("w", 1, 1, {}, false);
    const longPoll = (c: RawClient) =>
      c.request(1, 12, {
        replicaId: -1, maxWaitMs: 30_000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: "w", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [], rackId: "",
      });
    let answered = 0;
    const parked = [longPoll(clients[0]), longPoll(clients[1])].map((r) => r.then((x) => (answered++, x)));
    await waitForParkedFetches(b.url, 2);
    const third = await longPoll(clients[2]);
    assert.equal(third.responses[0].partitions[0].errorCode, ErrorCode.NONE);
    assert.equal(third.responses[0].partitions[0].highWatermark, 0n, "answered with what there is: nothing yet");
    assert.equal(answered, 0, "the parked fetches still wait");
    assert.equal(await parkedFetches(b.url), 2);
    const produced = await clients[2].request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: "w", partitionData: [{ index: 0, records: makeRecordsBatch(3, Date.now()) }] }] });
    assert.equal(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    for (const r of await Promise.all(parked)) assert.equal(r.responses[0].partitions[0].highWatermark, 3n);
  } finally {
    for (const c of clients) c.close();
    await b.stop();
  }
});
