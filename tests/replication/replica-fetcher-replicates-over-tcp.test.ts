/**
 * Replication over a real connection: a follower partition (broker 2) fetches from a running broker (broker 1)
 * with Fetch v15+ and ReplicaState; acks=all produces to the leader are answered once the follower has the
 * records, and the follower's log ends byte for byte equal to the leader's with the same high watermark.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Broker } from "../../src/broker/broker.ts";
import { BrokerConnection } from "../../src/client/connection.ts";
import { systemClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { Partition } from "../../src/partition/partition.ts";
import { ReplicaFetcher } from "../../src/replication/replica-fetcher.ts";
import { RawClient } from "../support/raw-client.ts";
import { startTestLeader } from "./leader-fixture.ts";
import { makeRecordsBatch, recordingLogger } from "../storage/batch-fixture.ts";

test("a follower fetching over TCP lets acks=all complete and ends equal to the leader", { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-fetcher-"));
  const { leader, store } = await startTestLeader(dir);
  const c = await RawClient.connect(leader.port);
  let fetcher: ReplicaFetcher | null = null;
  let channel: BrokerConnection | null = null;
  try {
    const topic = (await leader.createTopic("rep", 1, 1, {}, false))!;
    const s0 = store.partitionState("rep", 0)!;
    const roles = { leader: 1, leaderEpoch: 1, replicas: [1, 2], isr: [1, 2] };
    assert.equal(await store.compareAndSetPartition({ ...s0, ...roles, partitionEpoch: 1 }, 0), true);

    const logger = recordingLogger();
    const log = PartitionLog.open(`${dir}/follower/rep-0`, { topic: "rep", partition: 0 }, logConfigWith({}), { fs: nodeFileSystem, clock: systemClock, logger });
    const follower = Partition.open({ name: "rep" }, 0, log, { fs: nodeFileSystem, clock: systemClock, logger, localBrokerId: 2 }, roles);
    channel = await BrokerConnection.open("127.0.0.1", leader.port, 1, { clientId: "replica-2" });
    const warnings: string[] = [];
    fetcher = new ReplicaFetcher({ replicaId: 2, brokerEpoch: -1n, channel, clock: systemClock, warn: (m) => warnings.push(m), settings: { maxWaitMs: 200, backoffMs: 50 } });
    fetcher.add(topic.id, follower);
    fetcher.start();

    for (let i = 0; i < 5; i++) {
      const r = await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: "rep", partitionData: [{ index: 0, records: makeRecordsBatch(10, Date.now()) }] }] });
      assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE, "acks=all is answered once the follower has the batch");
    }
    const lp = leader.partition("rep", 0)!;
    assert.equal(lp.highWatermark, 50n);
    for (let i = 0; i < 500 && follower.highWatermark < 50n; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(follower.highWatermark, 50n, "the follower follows the leader's high watermark");
    assert.deepEqual(Buffer.concat(follower.log.read(0n, 1 << 22, true).chunks), Buffer.concat(lp.log.read(0n, 1 << 22, true).chunks));
    assert.deepEqual(follower.leaderEpochs.epochEntries(), lp.leaderEpochs.epochEntries());
    assert.deepEqual(warnings, []);
  } finally {
    await stopAll(fetcher, channel, c, leader, dir);
  }
});

test("the leader takes a caught-up follower into the ISR and drops it after replica.lag.time.max.ms without fetches", { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-isr-"));
  const lines: string[] = [];
  const { leader, store } = await startTestLeader(dir, { "replica.lag.time.max.ms": "600" }, lines);
  const c = await RawClient.connect(leader.port);
  let fetcher: ReplicaFetcher | null = null;
  let channel: BrokerConnection | null = null;
  const produceAll = async () =>
    (await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: "isr", partitionData: [{ index: 0, records: makeRecordsBatch(5, Date.now()) }] }] })).responses[0].partitionResponses[0].errorCode;
  const isrBecomes = async (want: number[]) => {
    for (let i = 0; i < 1000 && JSON.stringify(store.partitionState("isr", 0)!.isr) !== JSON.stringify(want); i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(store.partitionState("isr", 0)!.isr, want);
  };
  try {
    const topic = (await leader.createTopic("isr", 1, 1, {}, false))!;
    const s0 = store.partitionState("isr", 0)!;
    const roles = { leader: 1, leaderEpoch: 1, replicas: [1, 2], isr: [1] };
    assert.equal(await store.compareAndSetPartition({ ...s0, ...roles, partitionEpoch: 1 }, 0), true);
    assert.equal(await produceAll(), ErrorCode.NONE, "with the leader alone in the ISR, acks=all needs no follower");

    const logger = recordingLogger();
    const log = PartitionLog.open(`${dir}/follower/isr-0`, { topic: "isr", partition: 0 }, logConfigWith({}), { fs: nodeFileSystem, clock: systemClock, logger });
    const follower = Partition.open({ name: "isr" }, 0, log, { fs: nodeFileSystem, clock: systemClock, logger, localBrokerId: 2 }, roles);
    channel = await BrokerConnection.open("127.0.0.1", leader.port, 1, { clientId: "replica-2" });
    fetcher = new ReplicaFetcher({ replicaId: 2, brokerEpoch: -1n, channel, clock: systemClock, warn: () => {}, settings: { maxWaitMs: 100, backoffMs: 50 } });
    fetcher.add(topic.id, follower);
    fetcher.start();
    await isrBecomes([1, 2]);
    assert.equal(await produceAll(), ErrorCode.NONE, "acks=all now completes through the follower");
    assert.equal(follower.logEndOffset, 10n);

    await fetcher.stop();
    fetcher = null;
    await isrBecomes([1]);
    assert.equal(await produceAll(), ErrorCode.NONE, "the stopped follower no longer holds acks=all back");
    assert.ok(lines.some((l) => l.includes("isr-0: ISR 1,2 -> 1")), lines.join("\n"));
  } finally {
    await stopAll(fetcher, channel, c, leader, dir);
  }
});

/** Stops what a test started: the fetcher, its connection, the client, the leader, and removes the directory. */
async function stopAll(fetcher: ReplicaFetcher | null, channel: BrokerConnection | null, c: RawClient, leader: Broker, dir: string): Promise<void> {
  await fetcher?.stop();
  channel?.close();
  c.close();
  await leader.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
