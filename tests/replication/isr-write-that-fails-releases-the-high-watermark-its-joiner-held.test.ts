/**
 * While a leader's ISR write adding a follower is in flight, the high watermark waits for that follower too (Kafka's
 * maximal ISR, PendingExpandIsr). A running broker (node 1) leads `rep` (replicas 1 and 2, ISR 1); a follower built
 * here for node 2 fetches from it over a real connection; the broker's ISR write adding node 2 is held, then
 * - lost (a compare-and-set lost to a concurrent writer, or AlterPartition's INELIGIBLE_REPLICA in a cluster): node 2
 *   no longer holds the high watermark, which moves at once, so a node 2 that stopped fetching (the reason the write
 *   was refused) does not keep an acks=all produce waiting until its timeout;
 * - failed with an error, its outcome unknown (etcd applied the write and the answer was lost; the new ISR arrives
 *   later): node 2 keeps holding the high watermark, as Kafka's Partition stays pending, so no acks=all produce is
 *   answered while node 2, in the ISR that arrives, lacks its records; and when node 2 no longer may join (it began
 *   a controlled shutdown), the leader settles the unknown outcome by writing the ISR as it stands, after which the
 *   high watermark moves on without node 2.
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

/** An ISR write adding node 2 that the test holds: `settle` answers it (true/false) or fails it (an Error). */
interface HeldWrite {
  next: PartitionStateRecord;
  expected: number;
  settle(outcome: boolean | Error): void;
}

/**
 * The leader with 10 records (acks=1, ISR 1), node 2's follower caught up to them, the leader's first write adding
 * node 2 held (`later` answers the writes after it), node 2's fetcher stopped, and an acks=all produce of 10 more
 * records appended and waiting; `run` gets them and may start a new fetcher for node 2 with `fetchAgain`.
 */
async function withHeldJoinerWrite(later: (next: PartitionStateRecord, expected: number, realCas: (n: PartitionStateRecord, e: number) => Promise<boolean>) => Promise<boolean>, run: (t: { store: Awaited<ReturnType<typeof startTestLeader>>["store"]; held: HeldWrite; acked: Promise<number>; lp: NonNullable<ReturnType<Awaited<ReturnType<typeof startTestLeader>>["leader"]["partition"]>>; follower: Partition; lines: string[]; realCas: (n: PartitionStateRecord, e: number) => Promise<boolean>; fetchAgain(): void }) => Promise<void>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-isr-joiner-"));
  const lines: string[] = [];
  const { leader, store } = await startTestLeader(dir, { "replica.lag.time.max.ms": "400" }, lines);
  const c = await RawClient.connect(leader.port);
  const warnings: string[] = [];
  const fetchers: ReplicaFetcher[] = [];
  const channels: BrokerConnection[] = [];
  try {
    const topic = (await leader.createTopic("rep", 1, 1, {}, false))!;
    const roles = { leader: 1, leaderEpoch: 1, replicas: [1, 2], isr: [1] };
    assert.equal(await store.compareAndSetPartition({ ...store.partitionState("rep", 0)!, ...roles, partitionEpoch: 1 }, 0), true);
    const realCas = store.compareAndSetPartition.bind(store);
    let held: HeldWrite | null = null;
    store.compareAndSetPartition = (next: PartitionStateRecord, expected: number) => {
      if (!next.isr.includes(2)) return realCas(next, expected);
      if (held !== null) return later(next, expected, realCas);
      return new Promise<boolean>((resolve, reject) => (held = { next, expected, settle: (o) => (o instanceof Error ? reject(o) : resolve(o)) }));
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
    const fetchAgain = async () => {
      const channel = await BrokerConnection.open("127.0.0.1", leader.port, 1, { clientId: "replica-2" });
      channels.push(channel);
      const fetcher = new ReplicaFetcher({ replicaId: 2, brokerEpoch: -1n, channel, clock: systemClock, warn: (m) => warnings.push(m), settings: { maxWaitMs: 200, backoffMs: 50 } });
      fetchers.push(fetcher);
      fetcher.add(topic.id, follower);
      fetcher.start();
    };
    await fetchAgain();
    assert.ok(await until(() => held !== null), "the caught-up follower made the leader write it into the ISR");
    await fetchers[0].stop(); // node 2 stops fetching while the write is in flight
    assert.equal(follower.logEndOffset, 10n);

    const acked = produce(-1);
    assert.ok(await until(() => lp.logEndOffset === 20n), "the acks=all produce was appended");
    assert.equal(lp.highWatermark, 10n, "the follower the write in flight adds holds the high watermark");
    await run({ store, held: held!, acked, lp, follower, lines, realCas, fetchAgain: () => void fetchAgain() });
    assert.deepEqual(warnings, []);
  } finally {
    for (const f of fetchers) await f.stop();
    for (const ch of channels) ch.close();
    c.close();
    await leader.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("an ISR write that is lost lets the high watermark past the follower it would have added", { timeout: 120_000 }, async () => {
  await withHeldJoinerWrite(
    () => Promise.resolve(false),
    async ({ held, acked, lp }) => {
      held.settle(false);
      assert.equal(await acked, ErrorCode.NONE, "answered once the write was lost, not at its timeout");
      assert.equal(lp.highWatermark, 20n);
      assert.deepEqual(lp.isr, [1]);
    },
  );
});

test("an ISR write whose outcome is unknown keeps the follower it adds holding the high watermark until the ISR arrives", { timeout: 120_000 }, async () => {
  await withHeldJoinerWrite(
    (next, expected, realCas) => realCas(next, expected), // later writes get through
    async ({ held, acked, lp, follower, lines, realCas, fetchAgain }) => {
      held.settle(new Error("etcd request timed out (applied, its answer lost)"));
      assert.ok(await until(() => lines.some((l) => l.includes("ISR change to 1,2 not written"))), lines.join("\n"));
      assert.equal(lp.highWatermark, 10n, "node 2, which the write may have put in the ISR, still holds the high watermark");
      // the write was applied after all: the new ISR arrives (or a retry of the leader's already wrote it)
      await realCas(held.next, held.expected);
      assert.ok(await until(() => lp.isr.includes(2)), `node 2 in the ISR (${lp.isr.join(",")})`);
      assert.equal(lp.highWatermark, 10n, "node 2, in the ISR, holds the high watermark");
      fetchAgain();
      assert.equal(await acked, ErrorCode.NONE);
      assert.ok(follower.logEndOffset >= 20n, `node 2 holds the acknowledged records (log end ${follower.logEndOffset})`);
      assert.equal(lp.highWatermark, 20n);
    },
  );
});

test("an ISR write of unknown outcome whose follower no longer may join is settled by a write of the ISR as it stands", { timeout: 120_000 }, async () => {
  let etcdBack = false;
  await withHeldJoinerWrite(
    (next, expected, realCas) => (etcdBack ? realCas(next, expected) : Promise.reject(new Error("etcd unreachable"))),
    async ({ store, held, acked, lp, lines }) => {
      held.settle(new Error("etcd request timed out (not applied)"));
      assert.ok(await until(() => lines.some((l) => l.includes("ISR change to 1,2 not written"))), lines.join("\n"));
      assert.equal(lp.highWatermark, 10n, "node 2 holds the high watermark while the outcome is unknown");
      // node 2 begins a controlled shutdown: the leader's ISR decision leaves it out, the ISR it proposes is the one
      // stored, and only a write tells whether the earlier one was applied
      await store.registerBroker({ nodeId: 2, brokerEpoch: 7, rack: null, endpoints: [], inControlledShutdown: true });
      etcdBack = true;
      assert.equal(await acked, ErrorCode.NONE, "answered once a write settled the ISR, not at its timeout");
      assert.deepEqual(lp.isr, [1]);
      assert.equal(lp.highWatermark, 20n);
    },
  );
});
