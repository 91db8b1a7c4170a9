/**
 * ListOffsets answers that find no record carry leader epoch -1, as Apache Kafka 4.4 answers them (checked against a
 * real broker): the max timestamp of an empty partition and a timestamp past the last record both give offset -1,
 * timestamp -1 and epoch -1, while earliest and latest carry the partition's epoch.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";

test("ListOffsets: max timestamp of an empty partition and a timestamp past the end have leader epoch -1", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("lo", 1, 1, {}, false);
    const at = async (timestamp: bigint) => {
      const r = await c.request(2, 9, { replicaId: -1, isolationLevel: 0, topics: [{ name: "lo", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }], timeoutMs: 1000 });
      const p = r.topics[0].partitions[0];
      return [p.errorCode, p.offset, p.timestamp, p.leaderEpoch];
    };
    assert.deepEqual(await at(-3n), [0, -1n, -1n, -1], "max timestamp of an empty partition");
    assert.deepEqual(await at(1_700_000_000_000n), [0, -1n, -1n, -1], "no record at or after the timestamp");
    assert.deepEqual(await at(-1n), [0, 0n, -1n, 0], "latest carries the epoch");
    assert.deepEqual(await at(-2n), [0, 0n, -1n, 0], "earliest carries the epoch");
  } finally {
    c.close();
    await b.stop();
  }
});
