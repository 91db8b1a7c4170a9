/**
 * A Fetch answer keeps the order of the request's partitions, as Kafka's FetchResponse does: a topic's consecutive
 * partitions share one topic entry, and a topic named again after another one gets a new entry instead of its
 * partitions being moved up to its first (found by tests/shard/sharded-node-answers-as-a-plain-broker.test.ts: a
 * single broker grouped them, a sharded node's front did not).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { BrokerConnection } from "../../src/client/connection.ts";
import { ApiKey } from "../../src/protocol/generated/index.ts";
import type { FetchResponse } from "../../src/protocol/generated/01_fetch.ts";

test("a Fetch naming topic a, then b, then a again is answered a, b, a in request order", { timeout: 60_000 }, async () => {
  const b = await startTestBroker({ "auto.create.topics.enable": "false" });
  const c = await BrokerConnection.open("127.0.0.1", b.port, -1);
  try {
    await c.request(ApiKey.CreateTopics, { topics: ["a", "b"].map((name) => ({ name, numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] })), timeoutMs: 10_000, validateOnly: false });
    const entry = (topic: string, partitions: number[]) => ({ topic, partitions: partitions.map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1024 })) });
    const r = await c.request<FetchResponse>(ApiKey.Fetch, { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [entry("a", [2, 0]), entry("b", [1]), entry("a", [1])], forgottenTopicsData: [], rackId: "" }, { version: 12 });
    assert.equal(r.errorCode, 0);
    assert.deepEqual(r.responses.map((t) => [t.topic, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]), [["a", [[2, 0], [0, 0]]], ["b", [[1, 0]]], ["a", [[1, 0]]]]);
  } finally {
    c.close();
    await b.stop();
  }
});
