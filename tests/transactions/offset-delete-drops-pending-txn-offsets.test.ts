/**
 * OffsetDelete of a partition whose only offset is a pending transactional one (TxnOffsetCommit in a transaction
 * still open) writes its tombstone, which drops the pending offset as Kafka does: OffsetFetch requireStable no longer
 * answers UNSTABLE_OFFSET_COMMIT, the same after a restart (the replayed tombstone drops it again), and the
 * transaction's commit then commits nothing there. Found by tests/oracle/restart-random-match-kafka (Kafka answered
 * 0 where Runnel answered 88 after the restart).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { RawTxnProducer } from "./raw-txn-client.ts";

/** OffsetFetch v9 requireStable of partitions 0 and 1 of topic od: [errorCode, committedOffset] each. */
async function stableOffsets(c: RawClient): Promise<[number, bigint][]> {
  const r = await c.requestWhileCoordinatorLoads(9, 9, { groups: [{ groupId: "od-g", memberId: null, memberEpoch: -1, topics: [{ name: "od", partitionIndexes: [0, 1] }] }], requireStable: true }, (x: any) => x.groups[0].errorCode);
  return r.groups[0].topics[0].partitions.map((p: any) => [p.errorCode, p.committedOffset]);
}

test("OffsetDelete drops a pending transactional offset (requireStable, restart, then the commit)", { timeout: 120_000 }, async () => {
  const settings = { "transaction.state.log.num.partitions": "2" };
  let b = await startTestBroker(settings);
  const dir = b.dir;
  let c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("od", 2, 1, {}, false);
    const p = new RawTxnProducer(c, "od-tx");
    assert.equal(await p.init(), ErrorCode.NONE);
    assert.equal(await p.addOffsets("od-g"), ErrorCode.NONE);
    assert.equal(await p.commitOffset("od-g", "od", 0, 5n), ErrorCode.NONE);
    assert.equal(await p.commitOffset("od-g", "od", 1, 6n), ErrorCode.NONE);
    assert.deepEqual(await stableOffsets(c), [[ErrorCode.UNSTABLE_OFFSET_COMMIT, -1n], [ErrorCode.UNSTABLE_OFFSET_COMMIT, -1n]]);
    const del = await c.request(47, 0, { groupId: "od-g", topics: [{ name: "od", partitions: [{ partitionIndex: 0 }] }] });
    assert.deepEqual([del.errorCode, del.topics[0].partitions[0].errorCode], [ErrorCode.NONE, ErrorCode.NONE]);
    assert.deepEqual(await stableOffsets(c), [[ErrorCode.NONE, -1n], [ErrorCode.UNSTABLE_OFFSET_COMMIT, -1n]], "partition 0's pending offset is gone");
    c.close();
    await b.stop({ keepDir: true });
    b = await startTestBroker(settings, dir);
    c = await RawClient.connect(b.port);
    assert.deepEqual(await stableOffsets(c), [[ErrorCode.NONE, -1n], [ErrorCode.UNSTABLE_OFFSET_COMMIT, -1n]], "the same after the restart");
    const again = new RawTxnProducer(c, "od-tx");
    again.pid = p.pid;
    again.epoch = p.epoch;
    assert.equal(await again.end(true), ErrorCode.NONE);
    for (let i = 0; i < 100 && (await stableOffsets(c))[1][0] !== ErrorCode.NONE; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await stableOffsets(c), [[ErrorCode.NONE, -1n], [ErrorCode.NONE, 6n]], "the commit commits partition 1 only");
  } finally {
    c.close();
    await b.stop();
  }
});
