/**
 * While a leader's ISR write adding a follower is in flight, the high watermark waits for that follower too (Kafka's
 * maximal ISR). When the write fails, the follower no longer holds it back, and the high watermark moves at once:
 * a follower that stopped fetching (the broker died, the reason the write was refused) does not keep an acks=all
 * produce waiting until its timeout. A running broker (node 1) leads `rep` (replicas 1 and 2, ISR 1); a follower
 * built here for node 2 fetches from it over a real connection; the broker's ISR write is held and then lost
 * (a compare-and-set lost to a concurrent writer, or AlterPartition's INELIGIBLE_REPLICA in a cluster).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BrokerConnection } from "../../src/client/connection.ts";
import { systemClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { Partition } from "../../src/partition/partition.ts";
import { ReplicaFetcher } from "../../src/replication/replica-fetcher.ts";
import type { PartitionStateRecord } from "../../src/cluster/metadata-store.ts";
import { RawClient } from "../support/raw-client.ts";
import { startTestLeader } from "./leader-fixture.ts";
import { makeRecordsBatch, recordingLogger } from "../storage/batch-fixture.ts";

/** Polls `ok` every 10 ms, at most `tries` times; whether it held. */
async function until(ok: () => boolean, tries = 2000): Promise<boolean> {
  for (let i = 0; i < tries && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  return ok();
}

test("an ISR write that fails lets the high watermark past the follower it would have added", { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-isr-joiner-"));
  const { leader, store } = await startTestLeader(dir, { "replica.lag.time.max.ms": "400" });
  const c = await RawClient.connect(leader.port);
  const channel = await BrokerConnection.open("127.0.0.1", leader.port, 1, { clientId: "replica-2" });
  const warnings: string[] = [];
  const fetcher = new ReplicaFetcher({ replicaId: 2, brokerEpoch: -1n, channel, clock: systemClock, warn: (m) => warnings.push(m), settings: { maxWaitMs: 200, backoffMs: 50 } });
  try {
    const topic = (await leader.createTopic("rep", 1, 1, {}, false))!;
    const roles = { leader: 1, leaderEpoch: 1, replicas: [1, 2], isr: [1] };
    assert.equal(await store.compareAndSetPartition({ ...store.partitionState("rep", 0)!, ...roles, partitionEpoch: 1 }, 0), true);
    // the leader's writes adding node 2 to the ISR: the first is held until the test loses it, later ones are lost
    const realCas = store.compareAndSetPartition.bind(store);
    let loseHeldWrite: ((applied: boolean) => void) | null = null;
    store.compareAndSetPartition = (next: PartitionStateRecord, expected: number) => {
      if (!next.isr.includes(2)) return realCas(next, expected);
      if (loseHeldWrite !== null) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => (loseHeldWrite = resolve));
    };
    const produce = async (acks: number) => {
      const r = await c.request(0, 9, { transactionalId: null, acks, timeoutMs: 30_000, topicData: [{ name: "rep", partitionData: [{ index: 0, records: makeRecordsBatch(10, Date.now()) }] }] });
      return r.responses[0].partitionResponses[0].errorCode as number;
    };
    assert.equal(await produce(1), ErrorCode.NONE);
    const lp = leader.partition("rep", 0)!;
    assert.equal(lp.highWatermark, 10n);

    const logger = recordingLogger();
    const log = PartitionLog.open(`${dir}/follower/rep-0`, { topic: "rep", partition: 0 }, logConfigWith({}), { fs: nodeFileSystem, clock: systemClock, logger });
    const follower = Partition.open({ name: "rep" }, 0, log, { fs: nodeFileSystem, clock: systemClock, logger, localBrokerId: 2 }, roles);
    fetcher.add(topic.id, follower);
    fetcher.start();
    assert.ok(await until(() => loseHeldWrite !== null), "the caught-up follower made the leader write it into the ISR");
    await fetcher.stop(); // node 2 goes away while the write is in flight
    assert.equal(follower.logEndOffset, 10n);

    const acked = produce(-1);
    assert.ok(await until(() => lp.logEndOffset === 20n), "the acks=all produce was appended");
    assert.equal(lp.highWatermark, 10n, "the follower the write in flight adds holds the high watermark");

    loseHeldWrite!(false);
    assert.equal(await acked, ErrorCode.NONE, "answered once the write failed, not at its timeout");
    assert.equal(lp.highWatermark, 20n);
    assert.deepEqual(lp.isr, [1]);
    assert.deepEqual(warnings, []);
  } finally {
    await fetcher.stop();
    channel.close();
    c.close();
    await leader.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
