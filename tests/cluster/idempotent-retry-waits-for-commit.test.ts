/**
 * An acks=all retry of an idempotent batch is answered only once the first copy is committed. Three `runnel start`
 * processes, an RF=3 topic; both followers are frozen (SIGSTOP), so the leader's high watermark cannot move. The
 * batch is sent, appended, and waits; the client retries it on a second connection (as after a request timeout).
 * The leader recognises the duplicate, and must not answer it before the high watermark passes the first copy: a
 * partitioned old leader that answered duplicates at once would acknowledge acks=all records that its ISR never
 * had, and that are lost when it truncates (found by network-partition-fences-old-leader.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { createReplicatedPartition, startCluster, until } from "../support/cluster-processes.ts";
import { signalChild } from "../support/proc.ts";
import { RawClient } from "../support/raw-client.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ErrorCode, errorName } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();

const skip = ETCD_SKIP_REASON;
const TOPIC = "dup";
/** How long the followers stay frozen while the retry is out (a buggy leader answers it within this time). */
const FROZEN_MS = 2_000;

test("an idempotent acks=all retry is answered only after its first copy is committed, never while the followers lack it", { skip, timeout: 180_000 }, async () => {
  const cluster = await startCluster();
  const frozen: number[] = [];
  try {
    const leader = await createReplicatedPartition(cluster, TOPIC);

    const c1 = await RawClient.connect(cluster.brokers[leader - 1].port);
    const c2 = await RawClient.connect(cluster.brokers[leader - 1].port);
    try {
      const init = await c1.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
      assert.equal(init.errorCode, ErrorCode.NONE, errorName(init.errorCode));
      const bb = new BatchBuilder(4096);
      bb.reset({ producerId: init.producerId, producerEpoch: init.producerEpoch, baseSequence: 0 });
      for (let i = 0; i < 5; i++) bb.append(Date.now(), null, new TextEncoder().encode(`v${i}`));
      const batch = bb.finish();
      const produce = (c: RawClient) => c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 60_000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: batch }] }] }).then((r) => r.responses[0].partitionResponses[0] as { errorCode: number; baseOffset: bigint });

      for (const id of [1, 2, 3].filter((id) => id !== leader)) {
        signalChild(cluster.brokers[id - 1].child, "SIGSTOP");
        frozen.push(id);
      }
      const first = produce(c1);
      first.catch(() => {}); // awaited below; a failed assertion before that closes the connection under it
      const segment = path.join(cluster.dataDirs[leader - 1], `${TOPIC}-0`, "00000000000000000000.log");
      await until("the leader to append the first copy", 30_000, () => fs.existsSync(segment) && fs.statSync(segment).size > 0);
      const retry = produce(c2).then((r) => ({ ...r, whileFrozen: frozen.length > 0 }));
      await Promise.race([retry, new Promise((r) => setTimeout(r, FROZEN_MS))]);
      for (const id of frozen.splice(0)) signalChild(cluster.brokers[id - 1].child, "SIGCONT");

      const again = await retry;
      assert.equal(again.whileFrozen, false, `the retry was answered (${errorName(again.errorCode)}, offset ${again.baseOffset}) while both followers were frozen`);
      assert.equal(again.errorCode, ErrorCode.NONE, errorName(again.errorCode));
      const once = await first;
      assert.equal(once.errorCode, ErrorCode.NONE, errorName(once.errorCode));
      assert.equal(again.baseOffset, once.baseOffset, "the retry gets the first copy's offset");
    } finally {
      c1.close();
      c2.close();
    }
  } finally {
    for (const id of frozen) signalChild(cluster.brokers[id - 1].child, "SIGCONT");
    await cluster.close();
  }
});
