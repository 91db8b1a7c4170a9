/**
 * Topic administration by the controller against a real etcd: CreatePartitions places new partitions like the
 * first ones (rack-aware, continuing the leader rotation) and refuses shrinking or unknown topics; DeleteTopics
 * removes a topic from every broker's view; only the active controller acts (NOT_CONTROLLER elsewhere); and with
 * etcd down topic creation answers the retriable REQUEST_TIMED_OUT while reads keep working, then works again when
 * etcd is back, with no restart.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EtcdUnavailableError } from "../../src/cluster/etcd-client.ts";
import { ErrorCode, KafkaError, errorCodeOf, isRetriable } from "../../src/protocol/errors.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { startNode, until, type TestNode } from "./cluster-fixture.ts";

const skip = ETCD_SKIP_REASON;
const ctx = sharedTestEtcd();
const ID = "fedcba9876543210fedcba9876543210";
const racks: Record<number, string> = { 1: "a", 2: "b", 3: "c" };
const codeOf = (p: Promise<unknown>, code: number) => assert.rejects(p, (e: unknown) => e instanceof KafkaError && e.code === code);

async function cluster(root: string): Promise<{ nodes: TestNode[]; ctl: () => TestNode }> {
  const nodes: TestNode[] = [];
  for (const id of [1, 2, 3]) nodes.push(await startNode(ctx.etcd.endpoint, root, id, { rack: racks[id] }));
  await until(() => nodes.some((n) => n.election.isActive) && nodes.every((n) => n.store.brokers().length === 3), 20_000, "controller and 3 brokers");
  return { nodes, ctl: () => nodes.find((n) => n.election.isActive)! };
}

test("CreatePartitions places new partitions rack-aware; DeleteTopics removes the topic everywhere; only the controller acts", { skip, timeout: 60_000 }, async () => {
  const { nodes, ctl } = await cluster("/admin1");
  try {
    const c = ctl();
    const other = nodes.find((n) => n !== c)!;
    await c.controller.createTopic({ name: "grow", partitions: 3, replicationFactor: 2, idHex: ID });
    await codeOf(other.controller.createPartitions("grow", 6), ErrorCode.NOT_CONTROLLER);
    const grown = await c.controller.createPartitions("grow", 6);
    assert.equal(grown.partitions, 6);
    await until(() => nodes.every((n) => n.store.topic("grow")?.partitions === 6 && n.store.partitionState("grow", 5) !== undefined), 20_000, "everyone sees 6 partitions");
    const states = Array.from({ length: 6 }, (_, p) => other.store.partitionState("grow", p)!);
    for (const s of states) {
      assert.equal(s.replicas.length, 2);
      assert.notEqual(racks[s.replicas[0]], racks[s.replicas[1]], "replicas in two racks");
    }
    const leaders = new Map<number, number>();
    for (const s of states) leaders.set(s.leader, (leaders.get(s.leader) ?? 0) + 1);
    assert.deepEqual([...leaders.values()].sort(), [2, 2, 2], "6 leaders spread 2 per broker");
    await codeOf(c.controller.createPartitions("grow", 6), ErrorCode.INVALID_PARTITIONS);
    await codeOf(c.controller.createPartitions("nope", 2), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    await codeOf(other.controller.deleteTopic("grow"), ErrorCode.NOT_CONTROLLER);
    await c.controller.deleteTopic("grow");
    await until(() => nodes.every((n) => n.store.topic("grow") === undefined && n.store.partitionState("grow", 0) === undefined), 20_000, "deleted everywhere");
    await codeOf(c.controller.deleteTopic("grow"), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  } finally {
    for (const n of nodes) await n.close();
  }
});

test("CreatePartitions gives new partitions the replica count partition 0 has now (a reassignment changed it), as Kafka's controller", { skip, timeout: 60_000 }, async () => {
  const { nodes, ctl } = await cluster("/admin3");
  try {
    const c = ctl();
    await c.controller.createTopic({ name: "shrunk", partitions: 2, replicationFactor: 3, idHex: ID });
    await until(() => nodes.every((n) => n.store.partitionState("shrunk", 1) !== undefined), 20_000, "everyone sees 'shrunk'");
    // partition 0 moves to two replicas (already in its ISR, so the move completes at once)
    await c.plane.alterReassignment("shrunk", 0, [1, 2]);
    await until(() => c.store.partitionState("shrunk", 0)?.replicas.length === 2 && (c.store.partitionState("shrunk", 0)?.addingReplicas?.length ?? 0) === 0, 20_000, "partition 0 on two replicas");
    await c.controller.createPartitions("shrunk", 4);
    await until(() => c.store.partitionState("shrunk", 3) !== undefined, 20_000, "4 partitions");
    assert.deepEqual([2, 3].map((p) => c.store.partitionState("shrunk", p)!.replicas.length), [2, 2], "new partitions take partition 0's count");
    assert.equal(c.store.partitionState("shrunk", 1)!.replicas.length, 3, "the others keep theirs");
    await assert.rejects(c.controller.createPartitions("shrunk", 5, [[1, 2, 3]]), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_REPLICA_ASSIGNMENT && /previous partitions, which have 2 replica/.test(e.message));
  } finally {
    for (const n of nodes) await n.close();
  }
});

test("etcd down: topic creation answers retriable REQUEST_TIMED_OUT, reads work; etcd back: creation works with no restart", { skip, timeout: 120_000 }, async () => {
  const { nodes, ctl } = await cluster("/admin2");
  try {
    await ctl().controller.createTopic({ name: "before", partitions: 2, replicationFactor: 3, idHex: ID });
    await until(() => nodes.every((n) => n.store.partitionState("before", 1) !== undefined), 20_000, "everyone sees 'before'");
    await ctx.etcd.stop();
    await assert.rejects(ctl().controller.createTopic({ name: "during", partitions: 1, replicationFactor: 3, idHex: ID }), (e: unknown) => {
      assert.ok(e instanceof EtcdUnavailableError);
      assert.equal(errorCodeOf(e), ErrorCode.REQUEST_TIMED_OUT);
      assert.ok(isRetriable(errorCodeOf(e)));
      return true;
    });
    for (const n of nodes) assert.equal(n.store.partitionState("before", 0)?.isr.length, 3, "reads from the view while etcd is down");
    await ctx.etcd.resume();
    await until(() => nodes.some((n) => n.election.isActive), 30_000, "a controller after etcd returns");
    await ctl().controller.createTopic({ name: "during", partitions: 1, replicationFactor: 3, idHex: ID });
    await until(() => nodes.every((n) => n.store.topic("during") !== undefined), 30_000, "everyone's watch resumed and sees the new topic");
  } finally {
    for (const n of nodes) await n.close();
  }
});
