/**
 * Fetch sessions (KIP-227) over a real connection: opening a session, incremental fetches that name only changed
 * partitions and get back only partitions with news, forgotten partitions, epoch checking and closing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
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
