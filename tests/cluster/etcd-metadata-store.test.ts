/**
 * The etcd metadata store against a real etcd: two stores (two brokers) see each other's topics, partition states
 * and registrations through their watches, in version order and before the writer's promise resolves; of two
 * compare-and-sets from the same partition epoch exactly one wins; topic create/update/delete are all-or-nothing
 * (also past etcd's 128 operations per txn); and while etcd is down writes reject with the retriable
 * EtcdUnavailableError while reads from the view keep working, and everything resumes when etcd returns.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ClusterKeys } from "../../src/cluster/cluster-keys.ts";
import { EtcdClient, EtcdUnavailableError } from "../../src/cluster/etcd-client.ts";
import { EtcdMetadataStore } from "../../src/cluster/etcd-metadata-store.ts";
import type { MetadataChange, PartitionStateRecord, TopicRecord } from "../../src/cluster/metadata-store.ts";
import { ErrorCode, KafkaError, errorCodeOf, isRetriable } from "../../src/protocol/errors.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { until } from "./cluster-fixture.ts";

const skip = ETCD_SKIP_REASON;
const ctx = sharedTestEtcd();

async function twoStores(root: string): Promise<[EtcdMetadataStore, EtcdMetadataStore]> {
  const make = async () => {
    const s = new EtcdMetadataStore(new EtcdClient({ endpoints: [ctx.etcd.endpoint], requestTimeoutMs: 2_000 }), new ClusterKeys(root), { sessionTimeoutSeconds: 2 });
    await s.start();
    return s;
  };
  return [await make(), await make()];
}

function topic(name: string, partitions: number, idHex = "ab".repeat(16)): TopicRecord {
  return { name, idHex, partitions, replicationFactor: 2, configs: { "cleanup.policy": "delete" }, createdAtMs: 1 };
}

function states(name: string, partitions: number): PartitionStateRecord[] {
  return Array.from({ length: partitions }, (_, p) => ({ topic: name, partition: p, replicas: [1, 2], leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 0 }));
}

const rejectsWith = (p: Promise<unknown>, code: number) => assert.rejects(p, (e: unknown) => e instanceof KafkaError && e.code === code);

test("two stores see each other's topics, partition states, registrations and config records, in version order", { skip, timeout: 60_000 }, async () => {
  const [a, b] = await twoStores("/ms1");
  const seenByB: MetadataChange[] = [];
  const seenByA: MetadataChange[] = [];
  b.watch((c) => seenByB.push(c));
  a.watch((c) => seenByA.push(c));
  try {
    const v0 = a.version;
    await a.createTopic(topic("orders", 3), states("orders", 3));
    // the writer reads its own write, and its watcher saw it before the promise resolved
    assert.equal(a.topic("orders")?.partitions, 3);
    assert.equal(seenByA.filter((c) => c.kind === "partition").length, 3);
    assert.ok(a.version > v0);
    await until(() => b.topic("orders") !== undefined && b.partitionState("orders", 2) !== undefined, 20_000, "B sees the topic");
    assert.deepEqual(b.partitionState("orders", 1), states("orders", 3)[1]);
    assert.deepEqual(seenByB.map((c) => c.kind).sort(), ["partition", "partition", "partition", "topic"]);
    const versions = seenByB.map((c) => c.version);
    assert.deepEqual(versions, [...versions].sort((x, y) => x - y));

    const next = { ...b.partitionState("orders", 0)!, isr: [1], partitionEpoch: 1 };
    assert.equal(await b.compareAndSetPartition(next, 0), true);
    await until(() => a.partitionState("orders", 0)?.partitionEpoch === 1, 20_000, "A sees B's change");
    assert.deepEqual(a.partitionState("orders", 0)!.isr, [1]);

    await a.registerBroker({ nodeId: 1, brokerEpoch: -1, rack: "r1", endpoints: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 9092, securityProtocol: "PLAINTEXT" }] });
    assert.equal(a.brokers()[0]?.brokerEpoch, a.brokerEpoch);
    await until(() => b.brokers().length === 1, 20_000, "B sees A registered");
    assert.deepEqual(b.brokers()[0], { nodeId: 1, brokerEpoch: a.brokerEpoch, rack: "r1", endpoints: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 9092, securityProtocol: "PLAINTEXT" }] });
    await a.putConfigRecord({ resource: "broker", name: "", configs: { "log.retention.ms": "5000" } });
    await a.putConfigRecord({ resource: "group", name: "g:1", configs: { "consumer.session.timeout.ms": "45000" } });
    await until(() => b.configRecord("broker", "")?.configs["log.retention.ms"] === "5000" && b.configRecord("group", "g:1") !== undefined, 20_000, "B sees config records");
    await a.putConfigRecord({ resource: "broker", name: "", configs: {} });
    await a.putConfigRecord({ resource: "broker", name: "7", configs: {} }); // removing nothing is fine
    await until(() => b.configRecord("broker", "") === undefined, 20_000, "B sees the record removed");
    assert.ok(seenByB.some((c) => c.kind === "config" && c.name === "" && c.value === null));
    await a.unregisterBroker(1);
    await until(() => b.brokers().length === 0, 20_000, "B sees A unregistered");
    assert.ok(seenByB.some((c) => c.kind === "broker" && c.value === null));
  } finally {
    await a.close();
    await b.close();
  }
});

test("compare-and-set: of two writers from the same partition epoch exactly one wins; duplicate topics are refused", { skip, timeout: 60_000 }, async () => {
  const [a, b] = await twoStores("/ms2");
  try {
    await a.createTopic(topic("t", 1), states("t", 1));
    await until(() => b.partitionState("t", 0) !== undefined, 20_000, "B sees t");
    for (let round = 0; round < 5; round++) {
      const base = a.partitionState("t", 0)!;
      await until(() => b.partitionState("t", 0)!.partitionEpoch === base.partitionEpoch, 20_000, "B caught up");
      const e = base.partitionEpoch;
      const [x, y] = await Promise.all([
        a.compareAndSetPartition({ ...base, isr: [1], partitionEpoch: e + 1 }, e),
        b.compareAndSetPartition({ ...base, isr: [1, 2], leaderEpoch: base.leaderEpoch + 1, partitionEpoch: e + 1 }, e),
      ]);
      assert.equal(Number(x) + Number(y), 1, `round ${round}: exactly one compare-and-set wins`);
      assert.equal(await a.compareAndSetPartition({ ...base, partitionEpoch: e + 1 }, e), false, "a stale expected epoch loses");
      await until(() => a.partitionState("t", 0)!.partitionEpoch === e + 1, 20_000, "A sees the winner");
    }
    // several partitions in one txn: all or none
    await a.createTopic(topic("multi", 3), states("multi", 3));
    const cur = [0, 1, 2].map((p) => a.partitionState("multi", p)!);
    const bump = (st: PartitionStateRecord) => ({ next: { ...st, isr: [1], partitionEpoch: st.partitionEpoch + 1 }, expected: st.partitionEpoch });
    assert.equal(await a.compareAndSetPartitionsGuarded([], [bump(cur[0]), bump(cur[1]), { ...bump(cur[2]), expected: 7, next: { ...cur[2], partitionEpoch: 8 } }]), false);
    assert.deepEqual([0, 1, 2].map((p) => a.partitionState("multi", p)!.partitionEpoch), [0, 0, 0], "a stale member leaves every partition as it was");
    assert.equal(await a.compareAndSetPartitionsGuarded([], cur.map(bump)), true);
    assert.deepEqual([0, 1, 2].map((p) => a.partitionState("multi", p)!.isr), [[1], [1], [1]]);
    const results = await Promise.allSettled([a.createTopic(topic("dup", 2), states("dup", 2)), b.createTopic(topic("dup", 2, "cd".repeat(16)), states("dup", 2))]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    assert.equal((lost.reason as KafkaError).code, ErrorCode.TOPIC_ALREADY_EXISTS);
  } finally {
    await a.close();
    await b.close();
  }
});

test("update and delete are all-or-nothing; a 300-partition topic (past etcd's 128 ops per txn) is written in steps and appears complete", { skip, timeout: 60_000 }, async () => {
  const [a, b] = await twoStores("/ms3");
  try {
    await a.createTopic(topic("big", 300), states("big", 300));
    await until(() => b.topic("big") !== undefined, 20_000, "B sees big");
    assert.equal(b.partitionState("big", 299)?.leader, 1);
    const grown = { ...topic("big", 302), configs: { "retention.ms": "1000" } };
    await rejectsWith(a.updateTopic({ ...grown, idHex: "00".repeat(16) }, []), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await a.updateTopic(grown, states("big", 302).slice(300));
    await until(() => b.topic("big")?.partitions === 302 && b.partitionState("big", 301) !== undefined, 20_000, "B sees the update");
    assert.equal(b.topic("big")!.configs["retention.ms"], "1000");
    const gone: MetadataChange[] = [];
    b.watch((c) => c.value === null && gone.push(c));
    await a.deleteTopic("big");
    assert.equal(a.topic("big"), undefined);
    assert.equal(a.partitionState("big", 0), undefined);
    await until(() => gone.length === 303, 20_000, "B sees 302 partitions and the topic removed");
    assert.equal(b.topic("big"), undefined);
    await rejectsWith(a.deleteTopic("big"), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  } finally {
    await a.close();
    await b.close();
  }
});

test("etcd down: writes reject with the retriable error, reads from the view keep working; etcd back: all resumes", { skip, timeout: 120_000 }, async () => {
  const [a, b] = await twoStores("/ms4");
  try {
    await a.createTopic(topic("kept", 2), states("kept", 2));
    await until(() => b.partitionState("kept", 1) !== undefined, 20_000, "B sees kept");
    await ctx.etcd.stop();
    const retriable = (e: unknown) => e instanceof EtcdUnavailableError && errorCodeOf(e) === ErrorCode.REQUEST_TIMED_OUT && isRetriable(errorCodeOf(e));
    await assert.rejects(a.createTopic(topic("new", 1), states("new", 1)), retriable);
    const s = a.partitionState("kept", 0)!;
    await assert.rejects(a.compareAndSetPartition({ ...s, isr: [1], partitionEpoch: s.partitionEpoch + 1 }, s.partitionEpoch), retriable);
    assert.equal(a.topic("kept")?.partitions, 2, "reads work while etcd is down");
    assert.equal(b.partitionState("kept", 1)?.leader, 1);
    assert.equal(a.topic("new"), undefined, "a failed write leaves the view as it was");
    await ctx.etcd.resume();
    await a.createTopic(topic("new", 1), states("new", 1));
    await until(() => b.topic("new") !== undefined, 30_000, "B's watch resumed and sees the topic made after the restart");
    assert.equal(await b.compareAndSetPartition({ ...s, isr: [2, 1], partitionEpoch: s.partitionEpoch + 1 }, s.partitionEpoch), true);
    await until(() => a.partitionState("kept", 0)?.partitionEpoch === s.partitionEpoch + 1, 30_000, "A sees B's change");
  } finally {
    await a.close();
    await b.close();
  }
});
