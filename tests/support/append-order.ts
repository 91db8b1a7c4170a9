/**
 * The arrival-order check for Produce appends whose codec work waits off the event loop (partition-append-order.ts):
 * a large uncompressed batch to a topic with a `compression.type` is held in its codec work; a small batch of the
 * same idempotent producer, already in that codec, is sent on another connection meanwhile; once the broker has
 * validated the small one (on the loop) the large one is let go. Both must succeed, the small one after the large.
 */
import assert from "node:assert/strict";
import type { CompressionCodec } from "../../src/compression/index.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import type { TestBroker } from "./broker.ts";
import { RawClient } from "./raw-client.ts";
import { wordBatch } from "./word-batch.ts";

/**
 * Runs the check on partition 0 of `topic` (compression.type = `codec`). `holdFirst(started, until)` makes the
 * broker's off-loop codec work call `started()` and wait for `until`; it returns what undoes that.
 */
export async function assertHeldBatchKeepsItsPlace(b: TestBroker, topic: string, codec: CompressionCodec, holdFirst: (started: () => void, until: Promise<void>) => () => void): Promise<void> {
  const c1 = await RawClient.connect(b.port);
  const c2 = await RawClient.connect(b.port);
  const decompress = codec.decompress;
  let undoHold = (): void => {};
  try {
    const init = await c1.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    assert.equal(init.errorCode, ErrorCode.NONE);
    const producerId: bigint = init.producerId;
    const first = wordBatch(256 * 1024, { producerId, baseSequence: 0 });
    const bb = new BatchBuilder(1 << 16);
    bb.reset({ producerId, producerEpoch: 0, baseSequence: first.count });
    for (let i = 0; i < 5; i++) bb.append(Date.now(), null, new TextEncoder().encode(`later-${i}`));
    const second = bb.finish({ codecId: codec.id, compress: (s) => codec.compress(s) });

    let started!: () => void;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    let validated!: () => void;
    const secondValidated = new Promise<void>((resolve) => (validated = resolve));
    undoHold = holdFirst(started, secondValidated);
    codec.decompress = (data, max) => {
      validated();
      return decompress(data, max);
    };
    const produce = (c: RawClient, records: Uint8Array) =>
      c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
    const r1 = produce(c1, first.batch);
    await firstStarted;
    const r2 = produce(c2, second);
    const [a, z] = await Promise.all([r1, r2]);
    assert.equal(a.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    assert.equal(z.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE, "the second batch's sequence follows the first's");
    assert.equal(a.responses[0].partitionResponses[0].baseOffset, 0n);
    assert.equal(z.responses[0].partitionResponses[0].baseOffset, BigInt(first.count));
  } finally {
    undoHold();
    codec.decompress = decompress;
    c1.close();
    c2.close();
  }
}
