/**
 * An idempotent producer pipelining batches to a partition whose log went offline (a torn segment write, KIP-112):
 * every batch behind the failed one is answered KAFKA_STORAGE_ERROR, as Kafka's ReplicaManager answers an offline
 * partition, never OUT_OF_ORDER_SEQUENCE_NUMBER from the producer state (librdkafka takes that for "the earlier batch
 * is not written", bumps its epoch and sends again, under new sequences, batches that may be on disk). Found by the
 * one-broker simulation with a pipelined producer (bun tests/sim/replay.ts kafka 35 --pipelined).
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

function idempotentBatch(producerId: bigint, baseSequence: number, n: number): Uint8Array {
  const bb = new BatchBuilder(1 << 16);
  bb.reset({ producerId, producerEpoch: 0, baseSequence });
  for (let i = 0; i < n; i++) bb.append(Date.now(), null, new TextEncoder().encode(`value ${baseSequence + i}`));
  return bb.finish().slice();
}

test("batches pipelined behind one that took the log offline are answered KAFKA_STORAGE_ERROR, not OUT_OF_ORDER_SEQUENCE_NUMBER", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-offline-idem-"));
  const { fs: faulty, probe } = wrappedFileSystem();
  const broker = await Broker.start(new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir]])), { fs: faulty, logger: testLogger() });
  const c = await RawClient.connect(broker.port);
  try {
    await broker.createTopic("p", 1, 1, {}, false);
    const init = await c.request(22, 4, { transactionalId: null, transactionTimeoutMs: -1, producerId: -1n, producerEpoch: -1 });
    assert.equal(init.errorCode, ErrorCode.NONE);
    const pid = init.producerId as bigint;
    const produce = (seq: number) => c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: "p", partitionData: [{ index: 0, records: idempotentBatch(pid, seq, 3) }] }] });
    assert.equal((await produce(0)).responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    probe.tearNextLogWriteAt = 10;
    // Three batches in flight on one connection, as librdkafka sends them: the first one's write tears.
    const answers = await Promise.all([produce(3), produce(6), produce(9)]);
    const codes = answers.map((a) => a.responses[0].partitionResponses[0].errorCode);
    assert.deepEqual(codes, [ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.KAFKA_STORAGE_ERROR]);
  } finally {
    c.close();
    await broker.stop().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
