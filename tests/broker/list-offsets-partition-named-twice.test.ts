/**
 * A ListOffsets naming a partition twice is answered once for it, INVALID_REQUEST, as Kafka 4.4's
 * ReplicaManager.fetchOffset answers ListOffsetsRequest.duplicatePartitions (found by the randomized differential
 * test tests/oracle/fetch-random-match-kafka); the other partitions are answered as usual.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

test("a partition named twice in ListOffsets gets one INVALID_REQUEST answer, the others their offsets", { timeout: 60_000 }, async () => {
  const b = await startTestBroker({ "auto.create.topics.enable": "false" });
  const c = await RawClient.connect(b.port);
  try {
    const created = await c.request(19, 5, { topics: [{ name: "t", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, 0);
    const part = (partitionIndex: number, timestamp: bigint) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp });
    // named twice within a topic entry, and again in a second entry of the same topic
    const r = await c.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: "t", partitions: [part(0, -1n), part(1, -2n), part(0, -2n)] }, { name: "t", partitions: [part(0, -1n)] }] });
    // one topic entry: the second named only a partition answered already
    const answers = r.topics.map((t: any) => [t.name, t.partitions.map((p: any) => [p.partitionIndex, p.errorCode, p.offset, p.leaderEpoch])]);
    assert.deepEqual(answers, [["t", [[0, ErrorCode.INVALID_REQUEST, -1n, -1], [1, 0, 0n, 0]]]]);
  } finally {
    c.close();
    await b.stop();
  }
});
