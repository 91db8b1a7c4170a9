/**
 * The controller's decisions applied through a real etcd: rack-aware topic creation over the registered brokers
 * (INVALID_REPLICATION_FACTOR, TOPIC_ALREADY_EXISTS, NOT_CONTROLLER), a broker's departure moving leadership to a
 * live ISR member with the leader epoch bumped, no leader while the ISR has no live broker (unclean election off)
 * and the ISR member leading again when it returns; leaders' ISR changes by compare-and-set (one of two concurrent
 * changes wins, a fenced leader's change is refused); and the controller still reacting after etcd restarts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { alterPartitionIsr } from "../../src/cluster/alter-partition.ts";
import { NO_LEADER } from "../../src/cluster/partition-state.ts";
import type { PartitionStateRecord } from "../../src/cluster/metadata-store.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { startNode, until, type TestNode } from "./cluster-fixture.ts";

const skip = ETCD_SKIP_REASON;
const ctx = sharedTestEtcd();

const ID = "0123456789abcdef0123456789abcdef";
const codeOf = (p: Promise<unknown>, code: number) => assert.rejects(p, (e: unknown) => e instanceof KafkaError && e.code === code);

function states(node: TestNode, topic: string, n: number): PartitionStateRecord[] {
  return Array.from({ length: n }, (_, p) => node.store.partitionState(topic, p)!);
}

test("topics are placed rack-aware over live brokers; failover elects from the ISR; ISR changes are CAS", { skip, timeout: 120_000 }, async () => {
  const root = "/failover";
  const nodes = new Map<number, TestNode>();
  const racks: Record<number, string> = { 1: "a", 2: "b", 3: "c" };
  try {
    for (const id of [1, 2, 3]) nodes.set(id, await startNode(ctx.etcd.endpoint, root, id, { rack: racks[id] }));
    await until(() => [...nodes.values()].some((n) => n.election.isActive), 20_000, "a controller");
    const ctl = [...nodes.values()].find((n) => n.election.isActive)!;
    await until(() => ctl.controller.liveBrokers().length === 3, 20_000, "3 live brokers");

    await codeOf(ctl.controller.createTopic({ name: "big", partitions: 1, replicationFactor: 4, idHex: ID }), ErrorCode.INVALID_REPLICATION_FACTOR);
    const other = [...nodes.values()].find((n) => n !== ctl)!;
    await codeOf(other.controller.createTopic({ name: "t", partitions: 6, replicationFactor: 3, idHex: ID }), ErrorCode.NOT_CONTROLLER);
    const rec = await ctl.controller.createTopic({ name: "t", partitions: 6, replicationFactor: 3, idHex: ID, configs: { "min.insync.replicas": "2" } });
    assert.equal(rec.partitions, 6);
    await codeOf(ctl.controller.createTopic({ name: "t", partitions: 1, replicationFactor: 1, idHex: ID }), ErrorCode.TOPIC_ALREADY_EXISTS);
    // every broker sees the partitions through its own watch
    await until(() => [...nodes.values()].every((n) => states(n, "t", 6).every(Boolean)), 20_000, "partitions visible everywhere");
    const initial = states(other, "t", 6);
    for (const s of initial) {
      assert.equal(new Set(s.replicas.map((r) => racks[r])).size, 3, "one replica per rack");
      assert.equal(s.leader, s.replicas[0]);
      assert.deepEqual(s.isr, s.replicas);
      assert.equal(s.leaderEpoch, 0);
    }
    assert.equal(new Set(initial.map((s) => s.leader)).size, 3, "leaders spread over the 3 brokers");

    // of two concurrent ISR changes by the leader, one wins (CAS on the partition epoch)
    const p0 = initial[0];
    const leaderNode = nodes.get(p0.leader)!;
    const shrinkTo = (drop: number) => alterPartitionIsr(leaderNode.store, "t", 0, leaderNode.store.brokerEpoch, { leaderId: p0.leader, leaderEpoch: 0, partitionEpoch: 0, isr: p0.isr.filter((r) => r !== drop) });
    const [x, y] = await Promise.all([shrinkTo(p0.replicas[1]), shrinkTo(p0.replicas[2])]);
    assert.deepEqual([x.error, y.error].sort((a, b) => a - b), [ErrorCode.NONE, ErrorCode.INVALID_UPDATE_VERSION]);
    const stale = await alterPartitionIsr(leaderNode.store, "t", 0, leaderNode.store.brokerEpoch - 1, { leaderId: p0.leader, leaderEpoch: 0, partitionEpoch: 1, isr: [p0.leader] });
    assert.equal(stale.error, ErrorCode.STALE_BROKER_EPOCH, "a leader with an old broker epoch is fenced");
    const dropped = p0.replicas.find((r) => !(x.error === ErrorCode.NONE ? x : y).state!.isr.includes(r))!;
    const droppedEpoch = nodes.get(dropped)!.store.brokerEpoch;
    const expandAs = (epoch: number) => alterPartitionIsr(leaderNode.store, "t", 0, leaderNode.store.brokerEpoch, { leaderId: p0.leader, leaderEpoch: 0, partitionEpoch: 1, isr: p0.replicas }, new Map([[dropped, epoch]]));
    assert.equal((await expandAs(droppedEpoch - 1)).error, ErrorCode.INELIGIBLE_REPLICA, "a replica cannot join on the fetches of an older registration");
    const expand = await expandAs(droppedEpoch);
    assert.equal(expand.error, ErrorCode.NONE);
    assert.equal(expand.state!.partitionEpoch, 2);

    // watches survive an etcd restart: the controller still reacts to a broker leaving afterwards
    await ctx.etcd.stop();
    await ctx.etcd.resume();
    const victim = [...nodes.values()].find((n) => n !== ctl)!;
    await until(() => ctl.store.partitionState("t", 0)!.partitionEpoch === 2, 30_000, "the controller's watch resumed and saw the ISR change");
    const before = states(ctl, "t", 6);
    await victim.close();
    nodes.delete(victim.id);
    await until(() => states(ctl, "t", 6).every((s) => !s.isr.includes(victim.id) && s.leader !== victim.id), 30_000, "failover away from the victim");
    const after_ = states(ctl, "t", 6);
    for (let p = 0; p < 6; p++) {
      const b = before[p];
      const a = after_[p];
      if (b.leader === victim.id) {
        assert.ok(b.isr.includes(a.leader) && a.leader !== NO_LEADER, `p${p}: new leader ${a.leader} from ISR ${b.isr}`);
        assert.equal(a.leaderEpoch, b.leaderEpoch + 1);
      } else {
        assert.equal(a.leader, b.leader);
        assert.equal(a.leaderEpoch, b.leaderEpoch);
      }
      assert.equal(a.partitionEpoch, b.partitionEpoch + 1);
    }

    // the ISR shrinks to the leader alone; that leader dies: no leader (unclean election is off) ...
    const survivor = [...nodes.values()].find((n) => n !== ctl)!;
    const led = after_.findIndex((s) => s.leader === survivor.id);
    assert.ok(led >= 0, "the surviving non-controller broker leads some partition");
    const s = after_[led];
    // the survivor checks the change against its own mirror of the state, which may not have the failover yet
    await until(() => survivor.store.partitionState("t", led)!.partitionEpoch === s.partitionEpoch, 30_000, "the survivor's mirror has the failover");
    const alone = await alterPartitionIsr(survivor.store, "t", led, survivor.store.brokerEpoch, { leaderId: survivor.id, leaderEpoch: s.leaderEpoch, partitionEpoch: s.partitionEpoch, isr: [survivor.id] });
    assert.equal(alone.error, ErrorCode.NONE);
    await survivor.close();
    nodes.delete(survivor.id);
    await until(() => ctl.store.partitionState("t", led)!.leader === NO_LEADER, 30_000, "offline partition");
    const offline = ctl.store.partitionState("t", led)!;
    assert.deepEqual(offline.isr, [survivor.id], "the ISR keeps its last member");
    // ... until that broker registers again and leads with a new leader epoch
    nodes.set(survivor.id, await startNode(ctx.etcd.endpoint, root, survivor.id, { rack: racks[survivor.id] }));
    await until(() => ctl.store.partitionState("t", led)!.leader === survivor.id, 30_000, "the ISR member leads again");
    assert.equal(ctl.store.partitionState("t", led)!.leaderEpoch, offline.leaderEpoch + 1);
  } finally {
    for (const n of nodes.values()) await n.close();
  }
});
