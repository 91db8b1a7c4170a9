/**
 * A classic group that a JoinGroup created is kept across a broker restart even when the join only handed out
 * MEMBER_ID_REQUIRED (or failed): Kafka writes an empty group's metadata record (generation 0, no members) for it,
 * so ListGroups and DescribeGroups list it Empty after the restart as before it. Found by
 * tests/oracle/restart-random-match-kafka.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

const join = (c: RawClient, groupId: string, protocolType: string) =>
  c.request(11, 9, { groupId, sessionTimeoutMs: 30000, rebalanceTimeoutMs: 30000, memberId: "", groupInstanceId: null, protocolType, protocols: [{ name: "range", metadata: new Uint8Array([1]) }], reason: null });

/** ListGroups and DescribeGroups of `groups`, as [id, state, protocolType] and [id, error, state, protocolType, members]. */
async function groupsSeen(c: RawClient, groups: string[]): Promise<unknown> {
  const lg = await c.requestWhileCoordinatorLoads(16, 5, { statesFilter: [], typesFilter: [] }, (r: any) => r.errorCode);
  const dg = await c.requestWhileCoordinatorLoads(15, 5, { groups, includeAuthorizedOperations: false }, (r: any) => r.groups.find((g: any) => g.errorCode !== 0)?.errorCode ?? 0);
  return {
    listed: lg.groups.filter((g: any) => groups.includes(g.groupId)).map((g: any) => [g.groupId, g.groupState, g.protocolType]).sort(),
    described: dg.groups.map((g: any) => [g.groupId, g.errorCode, g.groupState, g.protocolType, g.members.length]),
  };
}

test("a group a JoinGroup created (MEMBER_ID_REQUIRED only) is still listed Empty after a restart", { timeout: 120_000 }, async () => {
  let b = await startTestBroker();
  const dir = b.dir;
  let c = await RawClient.connect(b.port);
  try {
    const first = await c.requestWhileCoordinatorLoads(11, 9, { groupId: "joined-once", sessionTimeoutMs: 30000, rebalanceTimeoutMs: 30000, memberId: "", groupInstanceId: null, protocolType: "consumer", protocols: [{ name: "range", metadata: new Uint8Array([1]) }], reason: null }, (r: any) => r.errorCode === ErrorCode.MEMBER_ID_REQUIRED ? 0 : r.errorCode);
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal((await join(c, "other-type", "connect")).errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    const groups = ["joined-once", "other-type"];
    const before = await groupsSeen(c, groups);
    assert.deepEqual(before, { listed: [["joined-once", "Empty", ""], ["other-type", "Empty", ""]], described: [["joined-once", 0, "Empty", "", 0], ["other-type", 0, "Empty", "", 0]] });
    c.close();
    await b.stop({ keepDir: true });
    b = await startTestBroker({}, dir);
    c = await RawClient.connect(b.port);
    assert.deepEqual(await groupsSeen(c, groups), before, "the same groups, Empty, after the restart");
    // a member can still join the group as a new one
    const again = await join(c, "joined-once", "consumer");
    assert.equal(again.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  } finally {
    c.close();
    await b.stop();
  }
});
