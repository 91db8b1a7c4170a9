/**
 * OffsetDelete on a Stable classic group of protocol type "consumer" whose member's subscription does not parse:
 * the group counts as subscribed to every topic, to be safe (Kafka's ClassicGroup.isSubscribedToTopic), so the
 * offsets are not deleted (GROUP_SUBSCRIBED_TO_TOPIC); with a subscription that parses, only its topics are
 * refused. Found by tests/oracle/restart-random-match-kafka (Kafka 4.4 answered 86 where Runnel deleted).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Writer } from "../../src/protocol/wire.ts";

/** A ConsumerProtocolSubscription v0 of `topics`. */
function subscription(topics: string[]): Uint8Array {
  const w = new Writer(256);
  w.int16(0);
  w.int32(topics.length);
  for (const t of topics) w.string(t);
  w.int32(-1); // no user data
  return w.finishContiguous().slice();
}

/** A member that joins `groupId` with `metadata` and syncs as the leader: the group is Stable. */
async function stableGroup(c: RawClient, groupId: string, metadata: Uint8Array): Promise<void> {
  const body = (memberId: string) => ({ groupId, sessionTimeoutMs: 30000, rebalanceTimeoutMs: 30000, memberId, groupInstanceId: null, protocolType: "consumer", protocols: [{ name: "range", metadata }], reason: null });
  let j = await c.requestWhileCoordinatorLoads(11, 9, body(""), (r: any) => (r.errorCode === ErrorCode.MEMBER_ID_REQUIRED ? 0 : r.errorCode));
  j = await c.request(11, 9, body(j.memberId));
  assert.equal(j.errorCode, ErrorCode.NONE);
  const s = await c.request(14, 5, { groupId, generationId: j.generationId, memberId: j.memberId, groupInstanceId: null, protocolType: "consumer", protocolName: "range", assignments: [{ memberId: j.memberId, assignment: new Uint8Array(0) }] });
  assert.equal(s.errorCode, ErrorCode.NONE);
}

/** Offsets of topics a and b committed while the group has no members (a simple commit). */
async function commit(c: RawClient, groupId: string): Promise<void> {
  const r = await c.requestWhileCoordinatorLoads(8, 9, { groupId, generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null, topics: ["a", "b"].map((name) => ({ name, partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] })) }, (x: any) => x.topics[0].partitions[0].errorCode);
  assert.ok(r.topics.every((t: any) => t.partitions[0].errorCode === ErrorCode.NONE));
}

/** OffsetDelete of topics a and b: their error codes. */
async function deleteOffsets(c: RawClient, groupId: string): Promise<number[]> {
  const del = await c.request(47, 0, { groupId, topics: ["a", "b"].map((name) => ({ name, partitions: [{ partitionIndex: 0 }] })) });
  assert.equal(del.errorCode, ErrorCode.NONE);
  return del.topics.sort((x: any, y: any) => x.name.localeCompare(y.name)).map((t: any) => t.partitions[0].errorCode);
}

test("OffsetDelete: a consumer-protocol group whose subscription does not parse counts as subscribed to every topic", { timeout: 60_000 }, async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    for (const t of ["a", "b"]) await b.broker.createTopic(t, 1, 1, {}, false);
    await commit(c, "unparsed");
    await stableGroup(c, "unparsed", new Uint8Array([1]));
    assert.deepEqual(await deleteOffsets(c, "unparsed"), [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC]);
    await commit(c, "parsed");
    await stableGroup(c, "parsed", subscription(["a"]));
    assert.deepEqual(await deleteOffsets(c, "parsed"), [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE]);
  } finally {
    c.close();
    await b.stop();
  }
});
