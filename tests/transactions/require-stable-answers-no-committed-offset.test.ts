/**
 * OffsetFetch requireStable on a partition with a pending transactional offset answers UNSTABLE_OFFSET_COMMIT with
 * none of the committed offset's fields (offset -1, leader epoch -1, metadata ""), as Kafka; without requireStable
 * the committed offset is answered whole. Found by tests/oracle/restart-random-match-kafka (Kafka answered metadata
 * "" where Runnel answered the committed one's).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { RawTxnProducer } from "./raw-txn-client.ts";

test("requireStable: UNSTABLE_OFFSET_COMMIT carries no committed offset, epoch or metadata", { timeout: 60_000 }, async () => {
  const b = await startTestBroker({ "transaction.state.log.num.partitions": "2" });
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("rs", 1, 1, {}, false);
    const commit = await c.requestWhileCoordinatorLoads(8, 9, { groupId: "rs-g", generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null, topics: [{ name: "rs", partitions: [{ partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: 3, committedMetadata: "m1" }] }] }, (r: any) => r.topics[0].partitions[0].errorCode);
    assert.equal(commit.topics[0].partitions[0].errorCode, ErrorCode.NONE);
    const p = new RawTxnProducer(c, "rs-tx");
    assert.equal(await p.init(), ErrorCode.NONE);
    assert.equal(await p.addOffsets("rs-g"), ErrorCode.NONE);
    assert.equal(await p.commitOffset("rs-g", "rs", 0, 9n), ErrorCode.NONE);
    const fetch = async (requireStable: boolean, v: number) => {
      const r = await c.request(9, v, v >= 8
        ? { groups: [{ groupId: "rs-g", memberId: null, memberEpoch: -1, topics: [{ name: "rs", partitionIndexes: [0] }] }], requireStable }
        : { groupId: "rs-g", topics: [{ name: "rs", partitionIndexes: [0] }], requireStable });
      const part = (v >= 8 ? r.groups[0] : r).topics[0].partitions[0];
      return [part.errorCode, part.committedOffset, part.committedLeaderEpoch, part.metadata];
    };
    for (const v of [7, 9]) {
      assert.deepEqual(await fetch(false, v), [ErrorCode.NONE, 7n, 3, "m1"], `v${v}`);
      assert.deepEqual(await fetch(true, v), [ErrorCode.UNSTABLE_OFFSET_COMMIT, -1n, -1, ""], `v${v} requireStable`);
    }
  } finally {
    c.close();
    await b.stop();
  }
});
