/**
 * An acks=all produce that its followers cannot commit is answered REQUEST_TIMED_OUT once the request's timeout_ms
 * passes (Kafka's DelayedProduce), instead of being held: three `runnel start` processes, an RF=3 topic, both
 * followers frozen (SIGSTOP). kafkajs, librdkafka and the Java client retry that code. Once the followers resume,
 * the same kind of produce succeeds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { createReplicatedPartition, startCluster } from "../support/cluster-processes.ts";
import { signalChild } from "../support/proc.ts";
import { RawClient } from "../support/raw-client.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ErrorCode, errorName } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();

const skip = ETCD_SKIP_REASON;
const TOPIC = "slow";

test("acks=all with both followers frozen answers REQUEST_TIMED_OUT after timeout_ms; with them back it succeeds", { skip, timeout: 180_000 }, async () => {
  const cluster = await startCluster();
  const frozen: number[] = [];
  try {
    const leader = await createReplicatedPartition(cluster, TOPIC);

    const c = await RawClient.connect(cluster.brokers[leader - 1].port);
    try {
      const produce = (value: string, timeoutMs: number) => {
        const bb = new BatchBuilder(4096);
        bb.reset({});
        bb.append(Date.now(), null, new TextEncoder().encode(value));
        return c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: bb.finish() }] }] }).then((r) => r.responses[0].partitionResponses[0].errorCode as number);
      };
      for (const id of [1, 2, 3].filter((id) => id !== leader)) {
        signalChild(cluster.brokers[id - 1].child, "SIGSTOP");
        frozen.push(id);
      }
      const code = await produce("frozen", 1_500);
      assert.equal(code, ErrorCode.REQUEST_TIMED_OUT, errorName(code));
      for (const id of frozen.splice(0)) signalChild(cluster.brokers[id - 1].child, "SIGCONT");
      const ok = await produce("thawed", 30_000);
      assert.equal(ok, ErrorCode.NONE, errorName(ok));
    } finally {
      c.close();
    }
  } finally {
    for (const id of frozen) signalChild(cluster.brokers[id - 1].child, "SIGCONT");
    await cluster.close();
  }
});
