/**
 * A follower whose log of one partition went offline (an I/O error in its files: the log, or since 753aab0/996ca7a
 * its `.txnindex`) keeps replicating the other partitions it fetches from the same leader, as Kafka's fetcher does
 * (AbstractFetcherThread: a KafkaStorageException marks that partition failed and stops fetching it; an error in one
 * partition's data never stops the others). Before, the offline partition's append threw out of the whole fetch
 * round, every round, and the partitions after it in the answer were never applied: they fell behind for good.
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
import { RawClient } from "../support/raw-client.ts";
import { startTestLeader } from "./leader-fixture.ts";
import { makeRecordsBatch, recordingLogger } from "../storage/batch-fixture.ts";

test("a follower with one partition's log offline goes on replicating the other partitions from that leader", { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-fetcher-offline-"));
  const { leader, store } = await startTestLeader(dir);
  const c = await RawClient.connect(leader.port);
  let fetcher: ReplicaFetcher | null = null;
  let channel: BrokerConnection | null = null;
  try {
    const topic = (await leader.createTopic("rep", 2, 1, {}, false))!;
    const roles = { leader: 1, leaderEpoch: 1, replicas: [1, 2], isr: [1] };
    const followers: Partition[] = [];
    for (const i of [0, 1]) {
      assert.equal(await store.compareAndSetPartition({ ...store.partitionState("rep", i)!, ...roles, partitionEpoch: 1 }, 0), true);
      const logger = recordingLogger();
      const log = PartitionLog.open(`${dir}/follower/rep-${i}`, { topic: "rep", partition: i }, logConfigWith({}), { fs: nodeFileSystem, clock: systemClock, logger });
      followers.push(Partition.open({ name: "rep" }, i, log, { fs: nodeFileSystem, clock: systemClock, logger, localBrokerId: 2 }, roles));
    }
    // Partition 0's log on the follower failed (its disk answered EIO); partition 1's is fine.
    followers[0].log.ioFailed(Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" }));
    const partitionData = [0, 1].map((index) => ({ index, records: makeRecordsBatch(10, Date.now()) }));
    const r = await c.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 10_000, topicData: [{ name: "rep", partitionData }] });
    assert.deepEqual(r.responses[0].partitionResponses.map((p: { errorCode: number }) => p.errorCode), [ErrorCode.NONE, ErrorCode.NONE]);

    channel = await BrokerConnection.open("127.0.0.1", leader.port, 1, { clientId: "replica-2" });
    const warnings: string[] = [];
    fetcher = new ReplicaFetcher({ replicaId: 2, brokerEpoch: -1n, channel, clock: systemClock, warn: (m) => warnings.push(m), settings: { maxWaitMs: 100, backoffMs: 20 } });
    for (const f of followers) fetcher.add(topic.id, f);
    fetcher.start();
    for (let i = 0; i < 500 && followers[1].logEndOffset < 10n; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(followers[1].logEndOffset, 10n, `the healthy partition is replicated (${warnings.length} warnings, the last: ${warnings.at(-1)})`);
    assert.equal(followers[0].logEndOffset, 0n);
    assert.equal(fetcher.size, 1, "the offline partition is no longer fetched");
    assert.ok(warnings.some((w) => w.includes("rep-0") && w.includes("offline")), warnings.join("\n"));
  } finally {
    await fetcher?.stop();
    channel?.close();
    c.close();
    await leader.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
