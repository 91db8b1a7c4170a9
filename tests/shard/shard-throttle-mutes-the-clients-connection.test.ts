/**
 * On a 2-shard node a throttle time a shard answers mutes the client's own connection at the front (KIP-219, as one
 * broker mutes it), not only that shard's channel: a raw client over one connection produces 96 KiB to its partition
 * on shard A under a 32 KiB/s `producer_byte_rate` and is answered with a throttle time T; its next Produce, to the
 * partition on shard B and sent after that answer arrived, is answered no earlier than T after the first Produce was
 * sent (the front muted the connection after that send, so this bound has no slack that could let it pass early).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { BrokerConfig } from "../../src/broker/config.ts";
import { startShardedNode } from "../../src/shard/sharded-node.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { RawClient } from "../support/raw-client.ts";
import { testLogger } from "../support/broker.ts";
import { topicOnTwoShards } from "./support.ts";

await initCrc32c();

/** Bytes per second; with 2 windows of 1 s the burst is 32 KiB. */
const QUOTA = 32 * 1024;

function batch(bytes: number): Uint8Array {
  const bb = new BatchBuilder(bytes + 4096);
  bb.reset({});
  bb.append(Date.now(), null, new Uint8Array(bytes));
  return bb.finish();
}

test("a shard's throttle mutes the client's connection: its next request to the other shard waits the throttle time", { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-shard-mute-"));
  const config = new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir], ["runnel.shards", "2"], ["quota.window.num", "2"], ["quota.window.size.seconds", "1"]]));
  const node = await startShardedNode(config, { logger: testLogger() });
  const admin = await RawClient.connect(node.port());
  let producer: RawClient | undefined;
  try {
    // RawClient's client id is "raw-test"; producer_byte_rate counts only Produce, so the admin's requests are free.
    const alter = await admin.request(49, 1, { entries: [{ entity: [{ entityType: "client-id", entityName: "raw-test" }], ops: [{ key: "producer_byte_rate", value: QUOTA, remove: false }] }], validateOnly: false });
    assert.deepEqual(alter.entries.map((e: { errorCode: number }) => e.errorCode), [0]);
    // Created after the quota: a shard that knows the topic knows the quota too.
    const topic = await topicOnTwoShards(admin, node.shards, "muted");
    producer = await RawClient.connect(node.port());
    const produce = (partition: number, bytes: number) => producer!.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch(bytes) }] }] });

    const sentA = performance.now();
    const a = await produce(0, 96 * 1024);
    assert.equal(a.responses[0].partitionResponses[0].errorCode, 0);
    const throttle = a.throttleTimeMs as number;
    assert.ok(throttle > 0, `shard A answered no throttle time (${throttle})`);

    const b = await produce(1, 16);
    const answeredB = performance.now();
    assert.equal(b.responses[0].partitionResponses[0].errorCode, 0);
    assert.ok(answeredB - sentA >= throttle, `shard B's answer came ${(answeredB - sentA).toFixed(1)} ms after A's Produce was sent, within A's throttle time ${throttle} ms`);
  } finally {
    producer?.close();
    admin.close();
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
