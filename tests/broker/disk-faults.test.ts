/**
 * Disk faults injected under a real broker: a segment write that fails halfway answers the producer with
 * KAFKA_STORAGE_ERROR (never UNKNOWN_SERVER_ERROR), the partition is offline (fetches answer KAFKA_STORAGE_ERROR)
 * and nothing of the failed batch becomes readable after a restart; other partitions keep working.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Broker } from "../../src/broker/broker.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { RawClient } from "../support/raw-client.ts";
import { testLogger } from "../support/broker.ts";
import { wrappedFileSystem } from "../storage/wrapped-file-system.ts";

await initCrc32c();

function batch(n: number): Uint8Array {
  const bb = new BatchBuilder(1 << 16);
  bb.reset({});
  for (let i = 0; i < n; i++) bb.append(Date.now(), null, new TextEncoder().encode(`value ${i}`));
  return bb.finish();
}

test("a torn segment write answers KAFKA_STORAGE_ERROR and the other partition keeps working", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-disk-"));
  const { fs: faulty, probe } = wrappedFileSystem();
  const broker = await Broker.start(new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir]])), { fs: faulty, logger: testLogger() });
  const c = await RawClient.connect(broker.port);
  const produce = async (partition: number, records: Uint8Array) =>
    (await c.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: "d", partitionData: [{ index: partition, records }] }] })).responses[0].partitionResponses[0];
  try {
    await broker.createTopic("d", 2, 1, {}, false);
    assert.equal((await produce(0, batch(3))).errorCode, 0);
    probe.tearNextLogWriteAt = 10;
    const torn = await produce(0, batch(3));
    assert.equal(torn.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    const fetch0 = async (client: RawClient) =>
      (await client.request(1, 12, {
        maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: "d", partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: "",
      })).responses[0].partitions[0];
    assert.equal((await fetch0(c)).errorCode, ErrorCode.KAFKA_STORAGE_ERROR, "the offline partition refuses reads too (KIP-112)");
    const other = await produce(1, batch(2));
    assert.equal(other.errorCode, 0, "another partition still takes writes (a torn write is not a disk failure)");
    // After a restart the torn batch is cut away: nothing of it becomes visible.
    c.close();
    await broker.stop().catch(() => {});
    const again = await Broker.start(new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir]])), { logger: testLogger() });
    const c2 = await RawClient.connect(again.port);
    try {
      assert.equal((await fetch0(c2)).highWatermark, 3n, "the failed batch is not visible");
    } finally {
      c2.close();
      await again.stop();
    }
  } finally {
    c.close();
    await broker.stop().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
