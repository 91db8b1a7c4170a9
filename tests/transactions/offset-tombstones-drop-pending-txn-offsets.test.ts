/**
 * Offset tombstones drop pending transactional offsets (TxnOffsetCommit in a transaction still open), as Kafka's:
 * OffsetDelete of a partition whose only offset is a pending one writes its tombstone, and DeleteGroups writes one
 * for each pending partition too (Kafka's deleteAllOffsets). OffsetFetch requireStable then no longer answers
 * UNSTABLE_OFFSET_COMMIT, the same after a restart (the replayed tombstone drops it again), and the transaction's
 * commit then commits nothing there. Found by tests/oracle/restart-random-match-kafka (Kafka answered 0 where
 * Runnel answered 88 after the restart).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { RawTxnProducer } from "./raw-txn-client.ts";

/** OffsetFetch v9 requireStable of partitions 0 and 1 of topic od: [errorCode, committedOffset] each. */
async function stableOffsets(c: RawClient, groupId = "od-g"): Promise<[number, bigint][]> {
  const r = await c.requestWhileCoordinatorLoads(9, 9, { groups: [{ groupId, memberId: null, memberEpoch: -1, topics: [{ name: "od", partitionIndexes: [0, 1] }] }], requireStable: true }, (x: any) => x.groups[0].errorCode);
  return r.groups[0].topics[0].partitions.map((p: any) => [p.errorCode, p.committedOffset]);
}

/** Runs `body` on a broker with topic od (2 partitions); `restart` stops it cleanly, starts it on its data, and connects again. */
async function onRestartableBroker(body: (c: RawClient, restart: () => Promise<RawClient>) => Promise<void>): Promise<void> {
  const settings = { "transaction.state.log.num.partitions": "2" };
  let b = await startTestBroker(settings);
  const dir = b.dir;
  let c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("od", 2, 1, {}, false);
    await body(c, async () => {
      c.close();
      await b.stop({ keepDir: true });
      b = await startTestBroker(settings, dir);
      c = await RawClient.connect(b.port);
      return c;
    });
  } finally {
    c.close();
    await b.stop();
  }
}

test("OffsetDelete drops a pending transactional offset (requireStable, restart, then the commit)", { timeout: 120_000 }, () =>
  onRestartableBroker(async (c, restart) => {
    const p = new RawTxnProducer(c, "od-tx");
    assert.equal(await p.init(), ErrorCode.NONE);
    assert.equal(await p.addOffsets("od-g"), ErrorCode.NONE);
    assert.equal(await p.commitOffset("od-g", "od", 0, 5n), ErrorCode.NONE);
    assert.equal(await p.commitOffset("od-g", "od", 1, 6n), ErrorCode.NONE);
    assert.deepEqual(await stableOffsets(c), [[ErrorCode.UNSTABLE_OFFSET_COMMIT, -1n], [ErrorCode.UNSTABLE_OFFSET_COMMIT, -1n]]);
    const del = await c.request(47, 0, { groupId: "od-g", topics: [{ name: "od", partitions: [{ partitionIndex: 0 }] }] });
    assert.deepEqual([del.errorCode, del.topics[0].partitions[0].errorCode], [ErrorCode.NONE, ErrorCode.NONE]);
    assert.deepEqual(await stableOffsets(c), [[ErrorCode.NONE, -1n], [ErrorCode.UNSTABLE_OFFSET_COMMIT, -1n]], "partition 0's pending offset is gone");
    c = await restart();
    assert.deepEqual(await stableOffsets(c), [[ErrorCode.NONE, -1n], [ErrorCode.UNSTABLE_OFFSET_COMMIT, -1n]], "the same after the restart");
    const again = new RawTxnProducer(c, "od-tx");
    again.pid = p.pid;
    again.epoch = p.epoch;
    assert.equal(await again.end(true), ErrorCode.NONE);
    for (let i = 0; i < 100 && (await stableOffsets(c))[1][0] !== ErrorCode.NONE; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await stableOffsets(c), [[ErrorCode.NONE, -1n], [ErrorCode.NONE, 6n]], "the commit commits partition 1 only");
  }));

test("DeleteGroups drops the group's pending transactional offsets (requireStable, restart, then the commit)", { timeout: 120_000 }, () =>
  onRestartableBroker(async (c, restart) => {
    const commit = await c.requestWhileCoordinatorLoads(8, 9, { groupId: "dg-g", generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null, topics: [{ name: "od", partitions: [{ partitionIndex: 0, committedOffset: 2n, committedLeaderEpoch: -1, committedMetadata: null }] }] }, (r: any) => r.topics[0].partitions[0].errorCode);
    assert.equal(commit.topics[0].partitions[0].errorCode, ErrorCode.NONE);
    const p = new RawTxnProducer(c, "dg-tx");
    assert.equal(await p.init(), ErrorCode.NONE);
    assert.equal(await p.addOffsets("dg-g"), ErrorCode.NONE);
    assert.equal(await p.commitOffset("dg-g", "od", 0, 5n), ErrorCode.NONE);
    assert.equal(await p.commitOffset("dg-g", "od", 1, 6n), ErrorCode.NONE);
    assert.deepEqual(await stableOffsets(c, "dg-g"), [[ErrorCode.UNSTABLE_OFFSET_COMMIT, -1n], [ErrorCode.UNSTABLE_OFFSET_COMMIT, -1n]]);
    const del = await c.request(42, 2, { groupsNames: ["dg-g"] });
    assert.equal(del.results[0].errorCode, ErrorCode.NONE);
    const gone: [number, bigint][] = [[ErrorCode.NONE, -1n], [ErrorCode.NONE, -1n]];
    assert.deepEqual(await stableOffsets(c, "dg-g"), gone, "no pending offsets left");
    c = await restart();
    assert.deepEqual(await stableOffsets(c, "dg-g"), gone, "the same after the restart");
    const again = new RawTxnProducer(c, "dg-tx");
    again.pid = p.pid;
    again.epoch = p.epoch;
    assert.equal(await again.end(true), ErrorCode.NONE);
    for (let i = 0; i < 100; i++) {
      const d = await c.request(65, 0, { transactionalIds: ["dg-tx"] });
      if (d.transactionStates[0].transactionState === "CompleteCommit") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(await stableOffsets(c, "dg-g"), gone, "the commit commits nothing");
  }));
