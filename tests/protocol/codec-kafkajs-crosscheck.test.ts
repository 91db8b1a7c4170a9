/**
 * Cross-checks the generated codecs against kafkajs's hand-written protocol code for ApiVersions (v0-2),
 * Metadata (v0-6), Produce (v3-7) and Fetch (v4-11): requests encoded by kafkajs (whole frames: size, request
 * header v1, body) decode with our codecs, and responses encoded by ours decode with kafkajs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import {
  readApiVersionsRequest,
  readFetchRequest,
  readMetadataRequest,
  readProduceRequest,
  readRequestHeader,
  requestHeaderVersion,
  writeApiVersionsResponse,
  writeFetchResponse,
  writeMetadataResponse,
  writeProduceResponse,
} from "../../src/protocol/generated/index.ts";
import { crc32c, initCrc32c } from "../../src/protocol/crc32c.ts";
import { Reader, Writer } from "../../src/protocol/wire.ts";

const require = createRequire(import.meta.url);
// deno-lint-ignore no-explicit-any
type Any = any;
const Long: Any = require("kafkajs/src/utils/long");
const { RecordBatch }: Any = require("kafkajs/src/protocol/recordBatch/v0");
const Record: Any = require("kafkajs/src/protocol/recordBatch/record/v0");
const RecordBatchDecoder: Any = require("kafkajs/src/protocol/recordBatch/v0/decoder");
const KafkaJsDecoder: Any = require("kafkajs/src/protocol/decoder");
const encodeRequestFrame: Any = require("kafkajs/src/protocol/request");

function kafkajs(api: string, version: number): { request: Any; response: Any } {
  const dir = `kafkajs/src/protocol/requests/${api}/v${version}`;
  return { request: require(`${dir}/request.js`), response: require(`${dir}/response.js`) };
}

/** Encodes a kafkajs request as a full frame; returns our Reader positioned at the body and the header. */
async function kafkajsFrame(request: Any, correlationId: number) {
  const frame: Uint8Array = (await encodeRequestFrame({ correlationId, clientId: "crosscheck", request })).buffer;
  const r = new Reader(frame);
  assert.equal(r.int32(), frame.length - 4, "frame size prefix");
  const header = readRequestHeader(r, requestHeaderVersion(request.apiKey, request.apiVersion));
  assert.equal(header.requestApiKey, request.apiKey);
  assert.equal(header.requestApiVersion, request.apiVersion);
  assert.equal(header.correlationId, correlationId);
  assert.equal(header.clientId, "crosscheck");
  return { r, frame };
}

/** kafkajs reports a broker's throttle time as clientSideThrottleTime from the versions that throttle after sending. */
function throttleOf(decoded: Any): number {
  return "clientSideThrottleTime" in decoded ? decoded.clientSideThrottleTime : decoded.throttleTime;
}

function encodeBody(write: (w: Writer) => void): Buffer {
  const w = new Writer(256);
  write(w);
  return Buffer.from(w.finishContiguous());
}

test("ApiVersions v0-v2: kafkajs requests decode, our responses decode in kafkajs", async () => {
  for (let v = 0; v <= 2; v++) {
    const { request, response } = kafkajs("apiVersions", v);
    const { r, frame } = await kafkajsFrame(request(), 100 + v);
    assert.deepStrictEqual(readApiVersionsRequest(r, v), { clientSoftwareName: "", clientSoftwareVersion: "" });
    assert.equal(r.pos, frame.length);
    const body = encodeBody((w) =>
      writeApiVersionsResponse(w, v, {
        errorCode: 0,
        apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 13 }, { apiKey: 18, minVersion: 0, maxVersion: 4 }],
        throttleTimeMs: 25,
      })
    );
    const decoded = await response.decode(body);
    assert.equal(decoded.errorCode, 0);
    assert.deepStrictEqual(decoded.apiVersions, [
      { apiKey: 0, minVersion: 3, maxVersion: 13 },
      { apiKey: 18, minVersion: 0, maxVersion: 4 },
    ]);
    if (v >= 1) assert.equal(throttleOf(decoded), 25);
  }
});

test("Metadata v0-v6: kafkajs requests decode, our responses decode in kafkajs", async () => {
  for (let v = 0; v <= 6; v++) {
    const { request, response } = kafkajs("metadata", v);
    const { r, frame } = await kafkajsFrame(request({ topics: ["alpha", "beta"], allowAutoTopicCreation: false }), v);
    const req = readMetadataRequest(r, v);
    assert.equal(r.pos, frame.length);
    assert.deepStrictEqual(req.topics?.map((t) => t.name), ["alpha", "beta"]);
    assert.equal(req.allowAutoTopicCreation, v >= 4 ? false : true);

    const body = encodeBody((w) =>
      writeMetadataResponse(w, v, {
        throttleTimeMs: 7,
        brokers: [{ nodeId: 1, host: "broker-1", port: 9092, rack: v >= 1 ? "rack-a" : null }],
        clusterId: v >= 2 ? "cluster-xyz" : null,
        controllerId: v >= 1 ? 1 : -1,
        topics: [{
          errorCode: 0,
          name: "alpha",
          isInternal: false,
          partitions: [{
            errorCode: 0,
            partitionIndex: 3,
            leaderId: 1,
            replicaNodes: [1, 2, 3],
            isrNodes: [1, 2],
            offlineReplicas: v >= 5 ? [3] : [],
          }],
        }],
      })
    );
    const decoded = await response.decode(body);
    assert.deepStrictEqual(decoded.brokers[0].nodeId, 1);
    assert.equal(decoded.brokers[0].host, "broker-1");
    assert.equal(decoded.brokers[0].port, 9092);
    if (v >= 1) {
      assert.equal(decoded.brokers[0].rack, "rack-a");
      assert.equal(decoded.controllerId, 1);
    }
    if (v >= 2) assert.equal(decoded.clusterId, "cluster-xyz");
    if (v >= 3) assert.equal(throttleOf(decoded), 7);
    const t = decoded.topicMetadata[0];
    assert.equal(t.topic, "alpha");
    assert.equal(t.topicErrorCode, 0);
    const p = t.partitionMetadata[0];
    assert.equal(p.partitionId, 3);
    assert.equal(p.leader, 1);
    assert.deepStrictEqual(p.replicas, [1, 2, 3]);
    assert.deepStrictEqual(p.isr, [1, 2]);
    if (v >= 5) assert.deepStrictEqual(p.offlineReplicas, [3]);
  }
});

/** The RecordBatch kafkajs's produce encoder builds for `messages` (same inputs, so the same bytes). */
async function kafkajsBatch(messages: { key: string; value: string; timestamp: number }[]): Promise<Uint8Array> {
  const first = messages[0].timestamp;
  const records = messages.map((m, i) => Record({ ...m, offsetDelta: i, timestampDelta: m.timestamp - first }));
  const batch = await RecordBatch({
    records,
    firstTimestamp: first,
    maxTimestamp: messages[messages.length - 1].timestamp,
    producerId: Long.fromInt(-1),
    producerEpoch: 0,
    firstSequence: 0,
    transactional: false,
    lastOffsetDelta: records.length - 1,
  });
  return batch.buffer;
}

test("Produce v3-v7: kafkajs record batches arrive as exact views, our responses decode in kafkajs", async () => {
  await initCrc32c();
  const messages = [
    { key: "k1", value: "hello", timestamp: 1_700_000_000_000 },
    { key: "k2", value: "world", timestamp: 1_700_000_000_005 },
  ];
  const expected = await kafkajsBatch(messages);
  for (let v = 3; v <= 7; v++) {
    const { request, response } = kafkajs("produce", v);
    const { r, frame } = await kafkajsFrame(
      request({
        acks: -1,
        timeout: 30000,
        topicData: [{ topic: "events", partitions: [{ partition: 2, firstSequence: 0, messages }] }],
      }),
      v,
    );
    const req = readProduceRequest(r, v);
    assert.equal(r.pos, frame.length);
    assert.equal(req.transactionalId, null);
    assert.equal(req.acks, -1);
    assert.equal(req.timeoutMs, 30000);
    assert.equal(req.topicData[0].name, "events");
    const part = req.topicData[0].partitionData[0];
    assert.equal(part.index, 2);
    const records = part.records as Uint8Array;
    assert.ok(records.buffer === frame.buffer, "records is a view into the frame, not a copy");
    assert.deepStrictEqual(records, expected);
    // The view is a valid batch: length, magic 2, CRC-32C over attributes..end, and kafkajs can decode it.
    const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
    assert.equal(dv.getInt32(8) + 12, records.length);
    assert.equal(dv.getInt8(16), 2);
    assert.equal(dv.getUint32(17), crc32c(records.subarray(21)));
    const batch = await RecordBatchDecoder(new KafkaJsDecoder(Buffer.from(records)));
    assert.deepStrictEqual(
      batch.records.map((x: Any) => [x.key.toString(), x.value.toString()]),
      [["k1", "hello"], ["k2", "world"]],
    );

    const body = encodeBody((w) =>
      writeProduceResponse(w, v, {
        responses: [{
          name: "events",
          partitionResponses: [{
            index: 2,
            errorCode: 0,
            baseOffset: 42n,
            logAppendTimeMs: 1_700_000_000_123n,
            logStartOffset: 5n,
          }],
        }],
        throttleTimeMs: 3,
      })
    );
    const decoded = await response.decode(body);
    assert.equal(decoded.topics[0].topicName, "events");
    const p = decoded.topics[0].partitions[0];
    assert.equal(p.partition, 2);
    assert.equal(p.errorCode, 0);
    assert.equal(p.baseOffset, "42");
    assert.equal(p.logAppendTime, "1700000000123");
    if (v >= 5) assert.equal(p.logStartOffset, "5");
    assert.equal(throttleOf(decoded), 3);
  }
});

test("Fetch v4-v11: kafkajs requests decode, our responses with record batches decode in kafkajs", async () => {
  const batch = await kafkajsBatch([
    { key: "a", value: "first", timestamp: 1_700_000_000_000 },
    { key: "b", value: "second", timestamp: 1_700_000_000_001 },
  ]);
  for (let v = 4; v <= 11; v++) {
    const { request, response } = kafkajs("fetch", v);
    const { r, frame } = await kafkajsFrame(
      request({
        replicaId: -1,
        maxWaitTime: 500,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 1,
        sessionId: 0,
        sessionEpoch: -1,
        rackId: "rack-b",
        topics: [{
          topic: "events",
          partitions: [{ partition: 1, currentLeaderEpoch: 4, fetchOffset: "77", logStartOffset: "2", maxBytes: 4096 }],
        }],
      }),
      v,
    );
    const req = readFetchRequest(r, v);
    assert.equal(r.pos, frame.length);
    assert.equal(req.replicaId, -1);
    assert.equal(req.maxWaitMs, 500);
    assert.equal(req.minBytes, 1);
    assert.equal(req.maxBytes, 1 << 20);
    assert.equal(req.isolationLevel, 1);
    if (v >= 7) {
      assert.equal(req.sessionId, 0);
      assert.equal(req.sessionEpoch, -1);
    }
    if (v >= 11) assert.equal(req.rackId, "rack-b");
    const t = req.topics[0];
    assert.equal(t.topic, "events");
    const p = t.partitions[0];
    assert.equal(p.partition, 1);
    assert.equal(p.fetchOffset, 77n);
    assert.equal(p.partitionMaxBytes, 4096);
    if (v >= 5) assert.equal(p.logStartOffset, 2n);
    if (v >= 9) assert.equal(p.currentLeaderEpoch, 4);

    const body = encodeBody((w) =>
      writeFetchResponse(w, v, {
        throttleTimeMs: 9,
        errorCode: 0,
        sessionId: v >= 7 ? 12 : 0,
        responses: [{
          topic: "events",
          partitions: [{
            partitionIndex: 1,
            errorCode: 0,
            highWatermark: 100n,
            lastStableOffset: 90n,
            logStartOffset: v >= 5 ? 2n : -1n,
            abortedTransactions: [{ producerId: 5n, firstOffset: 60n }],
            preferredReadReplica: v >= 11 ? 3 : -1,
            records: [batch.subarray(0, 20), batch.subarray(20)],
          }],
        }],
      })
    );
    const decoded = await response.decode(body);
    assert.equal(throttleOf(decoded), 9);
    if (v >= 7) assert.equal(decoded.sessionId, 12);
    const dp = decoded.responses[0].partitions[0];
    assert.equal(decoded.responses[0].topicName, "events");
    assert.equal(dp.partition, 1);
    assert.equal(dp.highWatermark, "100");
    assert.equal(dp.lastStableOffset, "90");
    if (v >= 5) assert.equal(dp.lastStartOffset, "2");
    if (v >= 11) assert.equal(dp.preferredReadReplica, 3);
    assert.deepStrictEqual(dp.abortedTransactions, [{ producerId: "5", firstOffset: "60" }]);
    assert.deepStrictEqual(
      dp.messages.map((m: Any) => [m.key.toString(), m.value.toString()]),
      [["a", "first"], ["b", "second"]],
    );
  }
});
