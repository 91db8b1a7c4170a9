/**
 * An unclean election makes the old leader truncate, while it runs, the records only it had: the one production
 * path that shortens a `.log` a consumer may be reading (docs/storage-views.md). Here a consumer that stopped
 * reading holds a ~32 MB answer from the leader, queued as views of its segment maps; the leader is then frozen
 * (SIGSTOP) and its follower, frozen before those records came, thawed and elected (unclean.leader.election.enable);
 * the old leader, thawed, follows it and truncates to the one batch both had. The truncation must not cut the files
 * under the queued views: the old leader keeps running and the consumer's answer arrives as produced, byte for byte.
 *
 * Three `runnel start` processes on etcd (a cluster refuses sharded nodes, so this runs plain only).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { printBrokerLogs, startCluster, until, type TestCluster } from "../support/cluster-processes.ts";
import { testShards } from "../support/broker-process.ts";
import { partitionRoles } from "../support/leader-kills.ts";
import { signalChild } from "../support/proc.ts";
import { RawClient } from "../support/raw-client.ts";
import { assertIntact, createTopic, MOST_RECEIVED_BEFORE_CHANGE, produceAll, SlowFetcher } from "../support/queued-fetch.ts";

const skip = ETCD_SKIP_REASON || (testShards() > 1 ? "a cluster refuses sharded nodes" : false);
/** Lease TTL and ISR lag bound: short, so elections take seconds. */
const SESSION_MS = 3_000;
const TOPIC = "unclean";
/**
 * One segment holds every batch, so the truncation cuts the very file the queued part of the answer views (with
 * smaller segments it deletes the later ones, and cuts only the first, whose bytes the socket already took).
 */
const ONE_SEGMENT_BYTES = 256 * 1024 * 1024;

test("a truncation after an unclean election keeps an answer queued on a slow reader intact, and the broker up", { skip, timeout: 300_000 }, async () => {
  const cluster: TestCluster = await startCluster(["-o", `broker.session.timeout.ms=${SESSION_MS}`, "-o", `replica.lag.time.max.ms=${SESSION_MS}`]);
  const broker = (id: number) => cluster.brokers[id - 1];
  let slow: SlowFetcher | null = null;
  try {
    const creator = await RawClient.connect(broker(1).port);
    creator.timeoutMs = 60_000;
    try {
      await createTopic(creator, TOPIC, { "segment.bytes": String(ONE_SEGMENT_BYTES), "unclean.leader.election.enable": "true", "min.insync.replicas": "1" }, 2);
    } finally {
      creator.close();
    }
    let roles: Awaited<ReturnType<typeof partitionRoles>> = null;
    await until("the partition has a leader and both replicas in sync", 60_000, async () => {
      roles = await partitionRoles(broker(1).port, TOPIC);
      return roles !== null && roles.leader > 0 && roles.isr.length === 2;
    });
    // `old` leads; `next`, its follower, is elected later; `third` holds no replica and answers Metadata throughout.
    const old = roles!.leader;
    const next = roles!.isr.find((id) => id !== old)!;
    const third = [1, 2, 3].find((id) => id !== old && id !== next)!;
    const admin = await RawClient.connect(broker(old).port);
    admin.timeoutMs = 60_000;
    const produced: Uint8Array[] = [];
    try {
      // Batch 0 reaches both replicas (acks=all, both in the ISR); then the follower is frozen and leaves the ISR.
      produced.push(...(await produceAll(admin, TOPIC, 0, 1)));
      signalChild(broker(next).child, "SIGSTOP");
      await until("the follower leaves the ISR", 60_000, async () => {
        const r = await partitionRoles(broker(third).port, TOPIC);
        return r !== null && r.leader === old && r.isr.length === 1;
      });
      // Batches 1..32 only the leader has.
      produced.push(...(await produceAll(admin, TOPIC, 1)));
    } finally {
      admin.close();
    }
    slow = await SlowFetcher.start(broker(old).port, TOPIC);
    assert.ok(slow.received < MOST_RECEIVED_BEFORE_CHANGE, `the leader sent ${slow.received} bytes before the reader stopped`);
    // The leader is frozen, the follower thawed: the controller elects it, outside the ISR.
    signalChild(broker(old).child, "SIGSTOP");
    signalChild(broker(next).child, "SIGCONT");
    await until("the follower is elected", 90_000, async () => {
      const r = await partitionRoles(broker(third).port, TOPIC).catch(() => null);
      return r !== null && r.leader === next;
    });
    // The old leader, thawed, follows the new one and truncates what that one never had.
    signalChild(broker(old).child, "SIGCONT");
    await until("the old leader truncates to the new leader's log", 90_000, () => new RegExp(`${TOPIC}-0: truncated to offset 1 `).test(broker(old).log()));
    assert.equal(broker(old).child.exitCode, null);
    assert.ok(slow.received < MOST_RECEIVED_BEFORE_CHANGE, `the old leader sent ${slow.received} bytes before it truncated: nothing was queued under the cut`);
    const records = await slow.readRest();
    assertIntact(records, produced);
    assert.equal(broker(old).child.exitCode, null, "the old leader exited");
    assert.equal(broker(old).child.signalCode, null, "the old leader died of a signal");
  } catch (e) {
    printBrokerLogs(cluster.brokers, 3000);
    throw e;
  } finally {
    slow?.close();
    for (const b of cluster.brokers) signalChild(b.child, "SIGCONT");
    await cluster.close();
  }
});
