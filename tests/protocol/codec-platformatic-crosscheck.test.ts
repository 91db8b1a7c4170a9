/**
 * Cross-checks the flexible (compact) encodings of the generated codecs against @platformatic/kafka's
 * hand-written protocol code, which kafkajs lacks: ApiVersions v3-4, Metadata v9/10/12, Produce v9-11 and
 * Fetch v12-17. Requests built by platformatic decode with ours; responses built by ours parse in platformatic.
 * Responses sent to platformatic carry no tagged fields: its Reader.readTaggedFields (1.35) reads the section as
 * one zigzag length to skip, so it only handles empty sections. Our tag sections are checked by hand-made frames in
 * codec-malformed.test.ts and by the round-trip property test instead.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as pk from "@platformatic/kafka";
import {
  readApiVersionsRequest,
  readFetchRequest,
  readMetadataRequest,
  readProduceRequest,
  writeApiVersionsResponse,
  writeFetchResponse,
  writeMetadataResponse,
  writeProduceResponse,
} from "../../src/protocol/generated/index.ts";
import { crc32c, initCrc32c } from "../../src/protocol/crc32c.ts";
import { Reader, Writer } from "../../src/protocol/wire.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const lib = pk as Any;

/** Decodes a platformatic request body (no header) with our decoder, checking every byte is consumed. */
function decodeBody<T>(writer: Any, read: (r: Reader, v: number) => T, v: number): T {
  const body = new Uint8Array(writer.buffer); // a plain copy, so decoded views are not Buffers
  const r = new Reader(body);
  const out = read(r, v);
  assert.equal(r.pos, body.length, "request body fully consumed");
  return out;
}

/** Encodes a response body with ours and parses it with platformatic's parser for that version. */
function parseWithPlatformatic(api: Any, apiKey: number, v: number, write: (w: Writer) => void): Any {
  const w = new Writer(256);
  write(w);
  return api.parseResponse(1, apiKey, v, lib.Reader.from(Buffer.from(w.finishContiguous())));
}

const UUID_TEXT = "0102030405060708090a0b0c0d0e0f10";
const UUID = Uint8Array.from(Buffer.from(UUID_TEXT, "hex"));

test("ApiVersions v3-v4 (flexible) cross-check with @platformatic/kafka", () => {
  for (const v of [3, 4]) {
    const api = lib[`apiVersionsV${v}`];
    const req = decodeBody(api.createRequest("runnel-client", "1.2.3"), readApiVersionsRequest, v);
    assert.equal(req.clientSoftwareName, "runnel-client");
    assert.equal(req.clientSoftwareVersion, "1.2.3");
    const res = parseWithPlatformatic(api, 18, v, (w) =>
      writeApiVersionsResponse(w, v, {
        errorCode: 0,
        apiKeys: [{ apiKey: 1, minVersion: 4, maxVersion: 17 }],
        throttleTimeMs: 4,
      })
    );
    assert.equal(res.errorCode, 0);
    assert.deepStrictEqual(res.apiKeys.map((k: Any) => [k.apiKey, k.minVersion, k.maxVersion]), [[1, 4, 17]]);
    assert.equal(res.throttleTimeMs, 4);
  }
});

test("Metadata v9, v10, v12 (flexible) cross-check with @platformatic/kafka", () => {
  // Not v11: platformatic's v11 request still writes IncludeClusterAuthorizedOperations, which the schema
  // limits to versions 8-10, so its v11 bytes are one byte too long.
  for (const v of [9, 10, 12]) {
    const api = lib[`metadataV${v}`];
    const req = decodeBody(api.createRequest(["alpha"], true, true), readMetadataRequest, v);
    assert.deepStrictEqual(req.topics?.map((t) => t.name), ["alpha"]);
    assert.equal(req.allowAutoTopicCreation, true);
    assert.equal(req.includeTopicAuthorizedOperations, true);
    const res = parseWithPlatformatic(api, 3, v, (w) =>
      writeMetadataResponse(w, v, {
        throttleTimeMs: 2,
        brokers: [{ nodeId: 1, host: "h1", port: 9092, rack: null }],
        clusterId: "c1",
        controllerId: 1,
        topics: [{
          errorCode: 0,
          name: "alpha",
          topicId: UUID,
          isInternal: false,
          partitions: [{
            errorCode: 0,
            partitionIndex: 0,
            leaderId: 1,
            leaderEpoch: 5,
            replicaNodes: [1],
            isrNodes: [1],
            offlineReplicas: [],
          }],
          topicAuthorizedOperations: 123,
        }],
        clusterAuthorizedOperations: v <= 10 ? 77 : -2147483648,
      })
    );
    assert.equal(res.brokers[0].host, "h1");
    assert.equal(res.brokers[0].rack, null);
    assert.equal(res.clusterId, "c1");
    const t = res.topics[0];
    assert.equal(t.name, "alpha");
    if (v >= 10) assert.equal(String(t.topicId).replaceAll("-", ""), UUID_TEXT);
    assert.equal(t.partitions[0].leaderEpoch, 5);
    assert.equal(t.topicAuthorizedOperations, 123);
  }
});

test("Produce v9-v11 (flexible) cross-check with @platformatic/kafka", async () => {
  await initCrc32c();
  for (let v = 9; v <= 11; v++) {
    const api = lib[`produceV${v}`];
    const messages = [
      { topic: "events", partition: 1, key: Buffer.from("k"), value: Buffer.from("v1"), timestamp: 1000n },
      { topic: "events", partition: 1, key: Buffer.from("k"), value: Buffer.from("v2"), timestamp: 1001n },
    ];
    const req = decodeBody(api.createRequest(-1, 1500, messages), readProduceRequest, v);
    assert.equal(req.acks, -1);
    assert.equal(req.timeoutMs, 1500);
    assert.equal(req.topicData[0].name, "events");
    const p = req.topicData[0].partitionData[0];
    assert.equal(p.index, 1);
    const records = p.records as Uint8Array;
    const dv = new DataView(records.buffer, records.byteOffset, records.byteLength);
    assert.equal(dv.getInt32(8) + 12, records.length, "one whole batch");
    assert.equal(dv.getInt8(16), 2);
    assert.equal(dv.getUint32(17), crc32c(records.subarray(21)));
    assert.equal(dv.getInt32(57), 2, "record count");

    const res = parseWithPlatformatic(api, 0, v, (w) =>
      writeProduceResponse(w, v, {
        responses: [{
          name: "events",
          partitionResponses: [{
            index: 1,
            errorCode: 0,
            baseOffset: 10n,
            logAppendTimeMs: -1n,
            logStartOffset: 0n,
            recordErrors: [],
            errorMessage: null,
          }],
        }],
        throttleTimeMs: 6,
      })
    );
    const pr = res.responses[0].partitionResponses[0];
    assert.equal(res.responses[0].name, "events");
    assert.equal(pr.index, 1);
    assert.equal(pr.baseOffset, 10n);
    assert.equal(pr.logStartOffset, 0n);
    assert.equal(res.throttleTimeMs, 6);
  }
});

/** A RecordBatch v2 with one record (key "k", value "fetched"), built by hand. */
async function oneRecordBatch(): Promise<Uint8Array> {
  await initCrc32c();
  const rec = new Writer(64);
  rec.int8(0);
  rec.varlong(0n);
  rec.varint(0);
  rec.varint(1);
  rec.raw(new TextEncoder().encode("k"));
  rec.varint(7);
  rec.raw(new TextEncoder().encode("fetched"));
  rec.varint(0);
  const body = rec.finishContiguous().slice();
  const w = new Writer(128);
  w.int64(40n);
  const lengthAt = w.reserve(4);
  w.int32(0);
  w.int8(2);
  const crcAt = w.reserve(4);
  w.int16(0);
  w.int32(0);
  w.int64(5n);
  w.int64(5n);
  w.int64(-1n);
  w.int16(-1);
  w.int32(-1);
  w.int32(1);
  w.varint(body.length);
  w.raw(body);
  const batch = w.finishContiguous().slice();
  const dv = new DataView(batch.buffer);
  dv.setInt32(lengthAt, batch.length - 12);
  dv.setUint32(crcAt, crc32c(batch.subarray(21)));
  return batch;
}

test("Fetch v12-v17 (flexible) cross-check with @platformatic/kafka", async () => {
  const batch = await oneRecordBatch();
  for (let v = 12; v <= 17; v++) {
    const api = lib[`fetchV${v}`];
    const topic = { topicId: v >= 13 ? UUID_TEXT : "events", partitions: [] as Any[] };
    topic.partitions.push({ partition: 3, currentLeaderEpoch: 2, fetchOffset: 40n, lastFetchedEpoch: 1, partitionMaxBytes: 1024 });
    const req = decodeBody(api.createRequest(250, 1, 4096, 0, 9, 2, [topic], [], "rack-1"), readFetchRequest, v);
    assert.equal(req.maxWaitMs, 250);
    assert.equal(req.maxBytes, 4096);
    assert.equal(req.sessionId, 9);
    assert.equal(req.sessionEpoch, 2);
    assert.equal(req.rackId, "rack-1");
    if (v >= 13) assert.deepStrictEqual(req.topics[0].topicId, UUID);
    else assert.equal(req.topics[0].topic, "events");
    const p = req.topics[0].partitions[0];
    assert.equal(p.partition, 3);
    assert.equal(p.currentLeaderEpoch, 2);
    assert.equal(p.fetchOffset, 40n);
    assert.equal(p.lastFetchedEpoch, 1);
    assert.equal(p.partitionMaxBytes, 1024);

    const res = parseWithPlatformatic(api, 1, v, (w) =>
      writeFetchResponse(w, v, {
        throttleTimeMs: 1,
        errorCode: 0,
        sessionId: 9,
        responses: [{
          topic: v >= 13 ? "" : "events",
          topicId: v >= 13 ? UUID : undefined,
          partitions: [{
            partitionIndex: 3,
            errorCode: 0,
            highWatermark: 41n,
            lastStableOffset: 41n,
            logStartOffset: 0n,
            abortedTransactions: [],
            preferredReadReplica: -1,
            records: batch,
          }],
        }],
      })
    );
    assert.equal(res.sessionId, 9);
    const rp = res.responses[0].partitions[0];
    assert.equal(rp.partitionIndex, 3);
    assert.equal(rp.highWatermark, 41n);
    const recs = rp.records[0].records;
    assert.equal(recs.length, 1);
    assert.equal(Buffer.from(recs[0].value).toString(), "fetched");
    assert.equal(rp.records[0].firstOffset, 40n);
  }
});
