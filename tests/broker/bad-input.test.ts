/**
 * Bad input gets a Kafka error code, or for a malformed frame that one connection closed: never a crash, and other
 * clients carry on. Covers oversized and malformed frames, unknown APIs and versions, bad CRCs, oversized batches
 * and invalid topic names.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { ZERO_UUID } from "../../src/protocol/wire.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

// The test builds batches itself: against a sharded node no in-process broker has loaded the CRC-32C code for it.
await initCrc32c();

async function healthy(b: TestBroker): Promise<void> {
  const c = await RawClient.connect(b.port);
  try {
    const r = await c.request(18, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" });
    assert.equal(r.errorCode, 0);
  } finally {
    c.close();
  }
}

function batch(records: number, valueSize = 10): Uint8Array {
  const bb = new BatchBuilder(1 << 20);
  bb.reset({});
  for (let i = 0; i < records; i++) bb.append(Date.now(), null, new Uint8Array(valueSize).fill(i));
  return bb.finish();
}

function produce(topic: string, records: Uint8Array) {
  return { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] };
}

test("frames over socket.request.max.bytes, garbage bodies and unknown APIs close only that connection", async () => {
  const b = await startTestBroker({ "socket.request.max.bytes": "100000" });
  try {
    const big = await RawClient.connect(b.port);
    const head = new Uint8Array(8);
    new DataView(head.buffer).setInt32(0, 200000);
    await big.sendRaw(head, false);
    await big.closed;

    const garbage = await RawClient.connect(b.port);
    const g = new Uint8Array([0, 0, 0, 14, 0, 3, 0, 12, 0, 0, 0, 1, 0, 1, 0x41, 0xff, 0xff, 0xff]);
    assert.equal(await garbage.sendRaw(g), null);

    const unknown = await RawClient.connect(b.port);
    const u = new Uint8Array([0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 7, 0xff, 0xff]);
    assert.equal(await unknown.sendRaw(u), null);

    const negative = await RawClient.connect(b.port);
    assert.equal(await negative.sendRaw(new Uint8Array([0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4])), null);
    await healthy(b);
  } finally {
    await b.stop();
  }
});

test("unsupported versions: ApiVersions v9 gets v0 UNSUPPORTED_VERSION with our key list; InitProducerId v6 gets UNSUPPORTED_VERSION", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    const frame = c.frame(18, 3, { clientSoftwareName: "x", clientSoftwareVersion: "1" });
    new DataView(frame.buffer).setInt16(6, 9); // claim version 9
    const resp = await c.sendRaw(frame);
    assert.ok(resp !== null);
    const { Reader } = await import("../../src/protocol/wire.ts");
    const { readApiVersionsResponse } = await import("../../src/protocol/generated/18_api_versions.ts");
    const r = new Reader(resp);
    r.int32(); // correlation id (response header v0)
    const body = readApiVersionsResponse(r, 0);
    assert.equal(body.errorCode, ErrorCode.UNSUPPORTED_VERSION);
    assert.ok(body.apiKeys.some((k: { apiKey: number }) => k.apiKey === 0));

    const ipid = await c.request(22, 6, { transactionalId: null, transactionTimeoutMs: 1000 });
    assert.equal(ipid.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  } finally {
    c.close();
    await b.stop();
  }
});

test("produce: bad CRC gets CORRUPT_MESSAGE, oversized batch MESSAGE_TOO_LARGE, bad topic INVALID_TOPIC_EXCEPTION; nothing is written", async () => {
  const b = await startTestBroker({ "message.max.bytes": "5000" });
  const c = await RawClient.connect(b.port);
  try {
    const created = await c.request(19, 7, { topics: [{ name: "t", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, 0);

    const corrupt = batch(3);
    corrupt[corrupt.length - 1] ^= 0xff;
    let r = await c.request(0, 9, produce("t", corrupt));
    assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.CORRUPT_MESSAGE);

    r = await c.request(0, 9, produce("t", batch(10, 1000)));
    assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.MESSAGE_TOO_LARGE);

    const bad = await c.request(19, 7, { topics: [{ name: "bad/name", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    assert.equal(bad.topics[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    const meta = await c.request(3, 12, { topics: [{ topicId: ZERO_UUID, name: "bad name!" }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
    assert.equal(meta.topics[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);

    r = await c.request(0, 9, produce("t", batch(3)));
    assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
    assert.equal(r.responses[0].partitionResponses[0].baseOffset, 0n, "the rejected batches took no offsets");
  } finally {
    c.close();
    await b.stop();
  }
});
