/**
 * A long-poll Fetch parked on a topic that is then deleted answers UNKNOWN_TOPIC_OR_PARTITION (by name, v12, and by
 * id, v13+, as Apache Kafka does: tests/oracle checks it against Kafka) as soon as the delete happens, quietly: no
 * KAFKA_STORAGE_ERROR, no ERROR line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { ZERO_UUID } from "../../src/protocol/wire.ts";
import { RawClient } from "../support/raw-client.ts";
import { startTestBroker } from "../support/broker.ts";

for (const version of [12, 17]) {
  test(`Fetch v${version} waiting on a deleted topic answers UNKNOWN_TOPIC_OR_PARTITION without an error log`, { timeout: 60_000 }, async () => {
    const lines: string[] = [];
    const b = await startTestBroker({}, undefined, lines);
    const fetcher = await RawClient.connect(b.port);
    const admin = await RawClient.connect(b.port);
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
      // The fetch is parked once the broker counts it among the partition's waiters.
      const p0 = b.broker.partition("gone", 0)!;
      for (let i = 0; i < 500 && p0.waitingFetches === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(p0.waitingFetches, 1);
      const deleted = await admin.request(20, 6, { topics: [{ name: "gone", topicId: ZERO_UUID }], timeoutMs: 5000 });
      assert.equal(deleted.responses[0].errorCode, ErrorCode.NONE);
      const r = await parked;
      assert.ok(Date.now() - started < 25_000, "answered when the topic went, not at maxWaitMs");
      const codes = r.responses.flatMap((t: { partitions: { errorCode: number }[] }) => t.partitions.map((p) => p.errorCode));
      const expected = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      assert.deepEqual(codes, [expected, expected]);
      assert.deepEqual(lines.filter((l) => l.startsWith("ERROR")), []);
    } finally {
      fetcher.close();
      admin.close();
      await b.stop();
    }
  });
}
