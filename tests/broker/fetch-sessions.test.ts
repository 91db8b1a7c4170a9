/**
 * Fetch sessions (KIP-227) over a real connection: opening a session, incremental fetches that name only changed
 * partitions and get back only partitions with news, forgotten partitions, epoch checking and closing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { testShards } from "../support/broker-process.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { RawClient } from "../support/raw-client.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

function fetchReq(sessionId: number, sessionEpoch: number, partitions: { p: number; offset: bigint }[], forgotten: number[] = []) {
  return {
    maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId, sessionEpoch,
    topics: partitions.length ? [{ topic: "s", partitions: partitions.map(({ p, offset }) => ({ partition: p, fetchOffset: offset, partitionMaxBytes: 1 << 20 })) }] : [],
    forgottenTopicsData: forgotten.length ? [{ topic: "s", partitions: forgotten }] : [],
    rackId: "",
  };
}

/** The id of topic `name` (Metadata v12). */
async function topicIdOf(c: RawClient, name: string): Promise<Uint8Array> {
  const meta = await c.request(3, 12, { topics: [{ name }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  return meta.topics[0].topicId;
}

/** A Fetch v13+ body; a full one (epoch 0 or -1) names partition 0 of topic `topicId`, an incremental one nothing. */
function fetchByIdReq(topicId: Uint8Array, sessionId: number, sessionEpoch: number) {
  const topics = sessionEpoch <= 0 ? [{ topicId, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }] : [];
  return { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId, sessionEpoch, topics, forgottenTopicsData: [], rackId: "" };
}

function partitionsIn(resp: { responses: { partitions: { partitionIndex: number; records: Uint8Array | null }[] }[] }): number[] {
  return resp.responses.flatMap((t) => t.partitions.map((p) => p.partitionIndex)).sort();
}

test("a fetch session returns only partitions with news and checks its epoch", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  const produce = async (p: number) => {
    const bb = new BatchBuilder(1024);
    bb.reset({});
    bb.append(Date.now(), null, new TextEncoder().encode(`to ${p}`));
    const r = await c.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: "s", partitionData: [{ index: p, records: bb.finish() }] }] });
    assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
  };
  try {
    await b.broker.createTopic("s", 3, 1, {}, false);
    await produce(1);
    const open = await c.request(1, 12, fetchReq(0, 0, [{ p: 0, offset: 0n }, { p: 1, offset: 0n }, { p: 2, offset: 0n }]));
    assert.equal(open.errorCode, 0);
    assert.notEqual(open.sessionId, 0, "a session was opened");
    assert.deepEqual(partitionsIn(open), [0, 1, 2], "the first fetch of a session is full");
    const id = open.sessionId;

    // The client moved partition 1 forward; nothing else changed.
    let inc = await c.request(1, 12, fetchReq(id, 1, [{ p: 1, offset: 1n }]));
    assert.equal(inc.errorCode, 0);
    assert.equal(inc.sessionId, id);
    assert.deepEqual(partitionsIn(inc), [], "no news, no partitions");

    await produce(2);
    inc = await c.request(1, 12, fetchReq(id, 2, []));
    assert.deepEqual(partitionsIn(inc), [2], "only the partition with new data");
    assert.ok((inc.responses[0].partitions[0].records as Uint8Array).length > 0);

    // Forget partition 2: new data there is no longer reported.
    inc = await c.request(1, 12, fetchReq(id, 3, [], [2]));
    assert.deepEqual(partitionsIn(inc), []);
    await produce(2);
    inc = await c.request(1, 12, fetchReq(id, 4, []));
    assert.deepEqual(partitionsIn(inc), []);

    const wrongEpoch = await c.request(1, 12, fetchReq(id, 9, []));
    assert.equal(wrongEpoch.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    const unknown = await c.request(1, 12, fetchReq(12345, 1, []));
    assert.equal(unknown.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);

    const closed = await c.request(1, 12, fetchReq(id, -1, [{ p: 0, offset: 0n }]));
    assert.equal(closed.errorCode, 0);
    assert.equal(closed.sessionId, 0, "closing answers as a sessionless full fetch");
    const after = await c.request(1, 12, fetchReq(id, 5, []));
    assert.equal(after.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  } finally {
    c.close();
    await b.stop();
  }
});

test("a full fetch at epoch 0 naming a session closes it and opens a new one (the Java client's reset after a failed fetch)", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("s", 1, 1, {}, false);
    const first = await c.request(1, 12, fetchReq(0, 0, [{ p: 0, offset: 0n }]));
    assert.notEqual(first.sessionId, 0);
    const inc = await c.request(1, 12, fetchReq(first.sessionId, 1, []));
    assert.equal(inc.errorCode, 0);
    // The client lost the answer to epoch 2 (a time-out, a dropped connection): it asks for a fresh session so.
    const reset = await c.request(1, 12, fetchReq(first.sessionId, 0, [{ p: 0, offset: 0n }]));
    assert.equal(reset.errorCode, 0, "not INVALID_FETCH_SESSION_EPOCH: the client would send the same reset forever");
    assert.notEqual(reset.sessionId, 0, "a new session is opened");
    assert.deepEqual(partitionsIn(reset), [0], "a full answer");
    const old = await c.request(1, 12, fetchReq(first.sessionId, 2, []));
    assert.equal(old.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND, "the old session is closed");
    const next = await c.request(1, 12, fetchReq(reset.sessionId, 1, []));
    assert.equal(next.errorCode, 0);
    assert.equal(next.sessionId, reset.sessionId);
  } finally {
    c.close();
    await b.stop();
  }
});

test("session id 0 with a positive epoch names no session: FETCH_SESSION_ID_NOT_FOUND", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("s", 1, 1, {}, false);
    const res = await c.request(1, 12, fetchReq(0, 3, [{ p: 0, offset: 0n }]));
    assert.equal(res.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    assert.equal(res.sessionId, 0);
  } finally {
    c.close();
    await b.stop();
  }
});

test("a session partition answered with an error is answered again once the error clears, though nothing else changed", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  const withEpoch = (sessionId: number, sessionEpoch: number, currentLeaderEpoch: number) => {
    const r = fetchReq(sessionId, sessionEpoch, [{ p: 0, offset: 0n }]);
    r.topics[0].partitions[0] = { ...r.topics[0].partitions[0], currentLeaderEpoch } as (typeof r.topics)[0]["partitions"][0];
    return r;
  };
  try {
    await b.broker.createTopic("s", 1, 1, {}, false);
    const open = await c.request(1, 12, withEpoch(0, 0, -1));
    assert.deepEqual(partitionsIn(open), [0]);
    const id = open.sessionId;
    // The client names a leader epoch newer than the broker's: an error, always answered.
    const failed = await c.request(1, 12, withEpoch(id, 1, 7));
    assert.equal(failed.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    // It learns the real epoch: the partition is answered again (as in Kafka, its high watermark counts as unsent),
    // so the client sees the error cleared.
    const cleared = await c.request(1, 12, withEpoch(id, 2, 0));
    assert.deepEqual(partitionsIn(cleared), [0], "the partition is back in the answer");
    assert.equal(cleared.responses[0].partitions[0].errorCode, 0);
    const quiet = await c.request(1, 12, fetchReq(id, 3, []));
    assert.deepEqual(partitionsIn(quiet), [], "then no news, no partition");
  } finally {
    c.close();
    await b.stop();
  }
});

test("a session left without partitions is closed and its fetch answered sessionless", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("s", 2, 1, {}, false);
    const open = await c.request(1, 12, fetchReq(0, 0, [{ p: 0, offset: 0n }, { p: 1, offset: 0n }]));
    const id = open.sessionId;
    const emptied = await c.request(1, 12, fetchReq(id, 1, [], [0, 1]));
    assert.equal(emptied.errorCode, 0);
    assert.equal(emptied.sessionId, 0, "answered sessionless");
    const after = await c.request(1, 12, fetchReq(id, 2, []));
    assert.equal(after.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND, "the session is closed");
  } finally {
    c.close();
    await b.stop();
  }
});

test("a session opened with topic ids (v13+) refuses an incremental fetch by names (v12): FETCH_SESSION_TOPIC_ID_ERROR", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("s", 1, 1, {}, false);
    const topicId = await topicIdOf(c, "s");
    const open = await c.request(1, 13, fetchByIdReq(topicId, 0, 0));
    assert.notEqual(open.sessionId, 0);
    const byName = await c.request(1, 12, fetchReq(open.sessionId, 1, []));
    assert.equal(byName.errorCode, ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
    const again = await c.request(1, 13, fetchByIdReq(topicId, open.sessionId, 1));
    assert.equal(again.errorCode, 0, "the session is unchanged, its epoch still 1");
  } finally {
    c.close();
    await b.stop();
  }
});

test("a full session cache keeps its young sessions: a new consumer fetches sessionless instead of evicting one (Kafka's policy)", async () => {
  const b = await startTestBroker({ "max.incremental.fetch.session.cache.slots": "2" });
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("s", 3, 1, {}, false);
    const a = await c.request(1, 12, fetchReq(0, 0, [{ p: 0, offset: 0n }]));
    const bb = await c.request(1, 12, fetchReq(0, 0, [{ p: 1, offset: 0n }]));
    assert.ok(a.sessionId !== 0 && bb.sessionId !== 0, "two slots, two sessions");
    // A third client, even with more partitions: every session is younger than min.incremental.fetch.session.eviction.ms.
    const third = await c.request(1, 12, fetchReq(0, 0, [{ p: 0, offset: 0n }, { p: 1, offset: 0n }, { p: 2, offset: 0n }]));
    assert.equal(third.errorCode, 0);
    assert.equal(third.sessionId, 0, "no session for it: a full answer");
    assert.deepEqual(partitionsIn(third), [0, 1, 2]);
    for (const [s, label] of [[a, "first"], [bb, "second"]] as const) {
      const inc = await c.request(1, 12, fetchReq(s.sessionId, 1, []));
      assert.equal(inc.errorCode, 0, `the ${label} session was kept`);
      assert.equal(inc.sessionId, s.sessionId);
    }
  } finally {
    c.close();
    await b.stop();
  }
});

test("a full session cache evicts a session unused for min.incremental.fetch.session.eviction.ms", { skip: testShards() > 1 ? "the broker's clock is injected: one in-process broker" : false }, async () => {
  const clock = new ManualClock();
  const b = await startTestBroker({ "max.incremental.fetch.session.cache.slots": "2" }, undefined, undefined, { clock });
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("s", 2, 1, {}, false);
    const a = await c.request(1, 12, fetchReq(0, 0, [{ p: 0, offset: 0n }]));
    clock.advance(60_000);
    const bb = await c.request(1, 12, fetchReq(0, 0, [{ p: 1, offset: 0n }]));
    clock.advance(60_001); // the first unused for 120,001 ms, the second for 60,001
    const third = await c.request(1, 12, fetchReq(0, 0, [{ p: 0, offset: 0n }]));
    assert.notEqual(third.sessionId, 0, "the stale session's slot is taken");
    assert.equal((await c.request(1, 12, fetchReq(a.sessionId, 1, []))).errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND, "the stale one is gone");
    assert.equal((await c.request(1, 12, fetchReq(bb.sessionId, 1, []))).errorCode, 0, "the other is kept");
  } finally {
    c.close();
    await b.stop();
  }
});

test("a v13+ session following a topic id that is gone: UNKNOWN_TOPIC_OR_PARTITION, INCONSISTENT_TOPIC_ID once the name is created again (as Kafka)", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("s", 1, 1, {}, false);
    const topicId = await topicIdOf(c, "s");
    const req = (sessionId: number, sessionEpoch: number) => fetchByIdReq(topicId, sessionId, sessionEpoch);
    const open = await c.request(1, 13, req(0, 0));
    assert.equal(open.responses[0].partitions[0].errorCode, 0);
    const del = await c.request(20, 5, { topicNames: ["s"], timeoutMs: 30_000 });
    assert.equal(del.responses[0].errorCode, 0);
    const gone = await c.request(1, 13, req(open.sessionId, 1));
    assert.equal(gone.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "the session knows the topic's name: deleted");
    await b.broker.createTopic("s", 1, 1, {}, false);
    const recreated = await c.request(1, 13, req(open.sessionId, 2));
    assert.equal(recreated.responses[0].partitions[0].errorCode, ErrorCode.INCONSISTENT_TOPIC_ID, "its name now has another id");
    const fresh = await c.request(1, 13, req(0, -1));
    assert.equal(fresh.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_ID, "a fetch outside the session: an id never known");
  } finally {
    c.close();
    await b.stop();
  }
});

test("a v13+ request naming and forgetting the last partition of a session whose topic is gone: the session closes and the answer is sessionless, UNKNOWN_TOPIC_ID (as Kafka)", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("s", 1, 1, {}, false);
    const topicId = await topicIdOf(c, "s");
    const open = await c.request(1, 13, fetchByIdReq(topicId, 0, 0));
    assert.equal(open.responses[0].partitions[0].errorCode, 0);
    const del = await c.request(20, 5, { topicNames: ["s"], timeoutMs: 30_000 });
    assert.equal(del.responses[0].errorCode, 0);
    const last = { ...fetchByIdReq(topicId, open.sessionId, 1), topics: [{ topicId, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [{ topicId, partitions: [0] }] };
    const closed = await c.request(1, 13, last);
    assert.equal(closed.errorCode, 0);
    assert.equal(closed.sessionId, 0, "emptied: closed");
    assert.equal(closed.responses[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_ID, "the request's id, not the session's cached name");
  } finally {
    c.close();
    await b.stop();
  }
});
