/**
 * A long-poll Fetch parked on a topic that is then deleted answers UNKNOWN_TOPIC_OR_PARTITION (by name, v12, and by
 * id, v13+, as Apache Kafka does: tests/oracle checks it against Kafka) as soon as the delete happens, quietly: no
 * KAFKA_STORAGE_ERROR, no ERROR line. The fetch is known parked by the node's fetch purgatory size on /metrics, so
 * the same test runs against a sharded node (docs/sharding.md, "Tests").
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { ZERO_UUID } from "../../src/protocol/wire.ts";
import { RawClient } from "../support/raw-client.ts";
import { startHttpTestBroker } from "../support/http-broker.ts";
import { waitForParkedFetches } from "../support/node-metrics.ts";
import { testShards } from "../support/broker-process.ts";

for (const version of [12, 17]) {
  test(`Fetch v${version} waiting on a deleted topic answers UNKNOWN_TOPIC_OR_PARTITION without an error log`, { timeout: 60_000 }, async () => {
    const lines: string[] = [];
    const b = await startHttpTestBroker({}, { logLines: lines });
    const fetcher = await RawClient.connect(b.broker.port);
    const admin = await RawClient.connect(b.broker.port);
    try {
      const created = await admin.request(19, 7, { topics: [{ name: "gone", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
      assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
      const topicId = created.topics[0].topicId;
      const partitions = [0, 1].map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }));
      const started = Date.now();
      const parked = fetcher.request(1, version, {
        replicaId: -1, maxWaitMs: 30_000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [version >= 13 ? { topicId, partitions } : { topic: "gone", partitions }], forgottenTopicsData: [], rackId: "",
      });
      // The fetch is parked once the node counts it in its fetch purgatory (a sharded node counts its part on each
      // shard owning one of the partitions; a part not parked yet when the topic goes is answered at once).
      await waitForParkedFetches(b.url, 1, true);
      const deleted = await admin.request(20, 6, { topics: [{ name: "gone", topicId: ZERO_UUID }], timeoutMs: 5000 });
      assert.equal(deleted.responses[0].errorCode, ErrorCode.NONE);
      const r = await parked;
      assert.ok(Date.now() - started < 25_000, "answered when the topic went, not at maxWaitMs");
      type Answer = { responses: { partitions: { errorCode: number; records: Uint8Array | null }[] }[] };
      const codes = (a: Answer) => a.responses.flatMap((t) => t.partitions.map((p) => p.errorCode));
      const expected = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      if (testShards() === 1) assert.deepEqual(codes(r), [expected, expected]);
      else {
        // A sharded node's front answers a fetch split over shards when the first shard's part brings an error, with
        // the other shard's part as its first read found it (no error, no records) when that shard had not yet
        // heard of the delete (src/shard/front/front-fetch.ts); asked again, the node knows the topic is gone.
        assert.ok(codes(r).includes(expected), `answered by the delete: ${codes(r)}`);
        for (const p of r.responses.flatMap((t: Answer["responses"][0]) => t.partitions)) assert.ok(p.errorCode === expected || (p.errorCode === ErrorCode.NONE && (p.records ?? new Uint8Array()).length === 0), `partition answered ${p.errorCode}`);
        const again = await fetcher.request(1, version, {
          replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
          topics: [version >= 13 ? { topicId, partitions } : { topic: "gone", partitions }], forgottenTopicsData: [], rackId: "",
        });
        const gone = version >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : expected; // a new fetch naming an id the node has not
        assert.deepEqual(codes(again), [gone, gone]);
      }
      assert.deepEqual(lines.filter((l) => l.startsWith("ERROR")), []);
    } finally {
      fetcher.close();
      admin.close();
      await b.stop();
    }
  });
}
