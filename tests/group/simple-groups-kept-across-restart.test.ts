/**
 * "Simple" groups (created by offset commits, no members, no protocol type) are kept Empty when they end up holding
 * nothing, live and across a restart, as Kafka keeps them until the offsets.retention.check.interval.ms sweep: one
 * whose only offsets a TxnOffsetCommit wrote in a transaction that was then aborted, and one whose offsets were all
 * deleted by OffsetDelete. Kafka's replay creates a group for every offset record with a value, transactional or
 * not, and drops none at load. Found by tests/oracle/restart-random-match-kafka (Kafka listed the group Empty
 * after the restart where Runnel answered GROUP_ID_NOT_FOUND).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { RawTxnProducer } from "../transactions/raw-txn-client.ts";

const GROUPS = ["aborted-txn-offsets", "offsets-deleted"];

async function seen(c: RawClient): Promise<unknown> {
  const lg = await c.requestWhileCoordinatorLoads(16, 5, { statesFilter: [], typesFilter: [] }, (r: any) => r.errorCode);
  const dg = await c.requestWhileCoordinatorLoads(15, 5, { groups: GROUPS, includeAuthorizedOperations: false }, (r: any) => r.groups.find((g: any) => g.errorCode !== 0)?.errorCode ?? 0);
  return {
    listed: lg.groups.filter((g: any) => GROUPS.includes(g.groupId)).map((g: any) => [g.groupId, g.groupState]).sort(),
    described: dg.groups.map((g: any) => [g.groupId, g.errorCode, g.groupState]),
  };
}

test("simple groups left with nothing (aborted TxnOffsetCommit, OffsetDelete) stay Empty, also after a restart", { timeout: 120_000 }, async () => {
  const settings = { "transaction.state.log.num.partitions": "2" };
  let b = await startTestBroker(settings);
  const dir = b.dir;
  let c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("sg", 1, 1, {}, false);
    const p = new RawTxnProducer(c, "sg-tx");
    assert.equal(await p.init(), ErrorCode.NONE);
    assert.equal(await p.addOffsets(GROUPS[0]), ErrorCode.NONE);
    assert.equal(await p.commitOffset(GROUPS[0], "sg", 0, 5n), ErrorCode.NONE);
    assert.equal(await p.end(false), ErrorCode.NONE);
    const commit = await c.requestWhileCoordinatorLoads(8, 9, { groupId: GROUPS[1], generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null, topics: [{ name: "sg", partitions: [{ partitionIndex: 0, committedOffset: 3n, committedLeaderEpoch: -1, committedMetadata: null }] }] }, (r: any) => r.topics[0].partitions[0].errorCode);
    assert.equal(commit.topics[0].partitions[0].errorCode, ErrorCode.NONE);
    const del = await c.request(47, 0, { groupId: GROUPS[1], topics: [{ name: "sg", partitions: [{ partitionIndex: 0 }] }] });
    assert.deepEqual([del.errorCode, del.topics[0].partitions[0].errorCode], [ErrorCode.NONE, ErrorCode.NONE]);
    // the abort's marker reaches __consumer_offsets after EndTxn answers: wait for the transaction to complete
    for (let i = 0; i < 100; i++) {
      const d = await c.request(65, 0, { transactionalIds: ["sg-tx"] });
      if (d.transactionStates[0].transactionState === "CompleteAbort") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const expected = { listed: [[GROUPS[0], "Empty"], [GROUPS[1], "Empty"]], described: GROUPS.map((g) => [g, ErrorCode.NONE, "Empty"]) };
    assert.deepEqual(await seen(c), expected, "live");
    c.close();
    await b.stop({ keepDir: true });
    b = await startTestBroker(settings, dir);
    c = await RawClient.connect(b.port);
    assert.deepEqual(await seen(c), expected, "after the restart");
  } finally {
    c.close();
    await b.stop();
  }
});
