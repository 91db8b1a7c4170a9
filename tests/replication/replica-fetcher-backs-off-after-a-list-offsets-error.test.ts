/**
 * A follower whose fetch is out of range asks the leader's log end and log start (ListOffsets as a replica); when the
 * leader answers that with an error, the partition counts as failed for the round, and the fetcher backs off
 * `replica.fetch.backoff.ms` before the next Fetch (Kafka's AbstractFetcherThread: a partition whose out-of-range
 * handling failed joins partitionsWithError, and the round backs off). Before, the next round retried at once, in a
 * loop of Fetch and ListOffsets requests as fast as the leader answered.
 * The leader is a real broker; its ListOffsets answers UNKNOWN_TOPIC_OR_PARTITION because the follower's partition is
 * named otherwise than the topic whose id it fetches. The fetcher's clock is a manual one: its backoff is a timer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BrokerConnection, type BrokerChannel } from "../../src/client/connection.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { Partition } from "../../src/partition/partition.ts";
import { ReplicaFetcher } from "../../src/replication/replica-fetcher.ts";
import { startTestLeader } from "./leader-fixture.ts";
import { makeRecordsBatch, recordingLogger } from "../storage/batch-fixture.ts";
import { waitUntil } from "../transactions/wait-until.ts";

const BACKOFF_MS = 1000;

test("a follower whose out-of-range reset meets a ListOffsets error backs off before the next fetch", { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-fetcher-oor-backoff-"));
  const { leader, store } = await startTestLeader(dir);
  let fetcher: ReplicaFetcher | null = null;
  let connection: BrokerConnection | null = null;
  try {
    const topic = (await leader.createTopic("rep", 1, 1, {}, false))!;
    const roles = { leader: 1, leaderEpoch: 1, replicas: [1, 2], isr: [1] };
    assert.equal(await store.compareAndSetPartition({ ...store.partitionState("rep", 0)!, ...roles, partitionEpoch: 1 }, 0), true);
    // The leader's log starts at 5 (records 0-9, DeleteRecords before 5): the empty follower's fetch at 0 is out of range.
    const p0 = topic.partitions[0];
    p0.appendAsLeader(makeRecordsBatch(10, Date.now()));
    await waitUntil(() => p0.highWatermark === 10n, 10_000, "the leader's high watermark at 10");
    assert.equal(p0.log.deleteRecordsBefore(5n), 5n);

    const clock = new ManualClock();
    const timers: number[] = [];
    const timed = Object.assign(Object.create(clock) as ManualClock, {
      setTimer: (fn: () => void, ms: number) => {
        timers.push(ms);
        return clock.setTimer(fn, ms);
      },
    });
    const logger = recordingLogger();
    const log = PartitionLog.open(`${dir}/follower/rep-0`, { topic: "elsewhere", partition: 0 }, logConfigWith({}), { fs: nodeFileSystem, clock, logger });
    const follower = Partition.open({ name: "elsewhere" }, 0, log, { fs: nodeFileSystem, clock, logger, localBrokerId: 2 }, roles);

    connection = await BrokerConnection.open("127.0.0.1", leader.port, 1, { clientId: "replica-2" });
    const sent: number[] = [];
    const real = connection;
    const channel = Object.assign(Object.create(real) as BrokerChannel, {
      request: <T>(apiKey: number, body: unknown, opts?: Parameters<BrokerChannel["request"]>[2]) => {
        sent.push(apiKey);
        return real.request<T>(apiKey, body, opts);
      },
    });
    const warnings: string[] = [];
    fetcher = new ReplicaFetcher({ replicaId: 2, brokerEpoch: -1n, channel, clock: timed, warn: (m) => warnings.push(m), settings: { maxWaitMs: 100, backoffMs: BACKOFF_MS } });
    fetcher.add(topic.id, follower);
    fetcher.start();
    const fetches = () => sent.filter((k) => k === 1).length;
    // Either the fetcher backs off (a timer of the backoff) or it fetches again at once (the clock never moves).
    await waitUntil(() => timers.includes(BACKOFF_MS) || fetches() > 1, 20_000, () => `a backoff or a second fetch (${warnings.join("; ")})`);
    assert.ok(warnings.some((w) => w.includes("out of range") && w.includes("ListOffsets")), warnings.join("\n"));
    assert.equal(fetches(), 1, `no second Fetch before the backoff (requests sent: ${sent.join(",")})`);
    assert.deepEqual(timers, [BACKOFF_MS]);
    // Once the backoff passes, the next round fetches again.
    clock.advance(BACKOFF_MS);
    await waitUntil(() => fetches() === 2, 20_000, "the Fetch after the backoff");
  } finally {
    await fetcher?.stop();
    connection?.close();
    await leader.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
