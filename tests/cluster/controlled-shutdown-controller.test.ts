/**
 * Controlled shutdown on the control plane (three in-process control planes on a real etcd): once broker X marks
 * its registration, the controller moves every partition X led to another in-sync replica and takes X out of every
 * ISR; `controlledShutdown` resolves true as soon as X's view shows nothing left to hand over; while X is marked it
 * cannot rejoin an ISR (INELIGIBLE_REPLICA), cannot be elected preferred leader (PREFERRED_LEADER_NOT_AVAILABLE) and
 * gets no replica of a new topic (a replication factor needing it is INVALID_REPLICATION_FACTOR).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { ElectionType } from "../../src/cluster/leader-election.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { startNode, until, type TestNode } from "./cluster-fixture.ts";

const ctx = sharedTestEtcd();
const ID = "00112233445566778899aabbccddeeff";

test("a broker in controlled shutdown loses its leaderships and ISR places, cannot rejoin, and gets no new replicas", { skip: ETCD_SKIP_REASON, timeout: 60_000 }, async () => {
  const nodes: TestNode[] = [];
  try {
    for (const id of [1, 2, 3]) nodes.push(await startNode(ctx.etcd.endpoint, "/controlled", id, { ttlSeconds: 15 }));
    await until(() => nodes.some((n) => n.election.isActive) && nodes.every((n) => n.store.brokers().length === 3), 20_000, "controller and 3 brokers");
    const ctl = nodes.find((n) => n.election.isActive)!;
    await ctl.controller.createTopic({ name: "t", partitions: 6, replicationFactor: 3, idHex: ID });
    const x = nodes.find((n) => n !== ctl)!;
    await until(() => x.store.partitionStates().filter((s) => s.topic === "t").length === 6, 20_000, "x sees the topic");
    const led = x.plane.movableLeaderships().length;
    assert.ok(led > 0, "x leads partitions before its shutdown");

    const done = await x.plane.controlledShutdown({ maxRetries: 3, retryBackoffMs: 5_000 });
    assert.equal(done, true);
    const states = x.store.partitionStates().filter((s) => s.topic === "t");
    for (const s of states) {
      assert.notEqual(s.leader, x.id, JSON.stringify(s));
      assert.ok(!s.isr.includes(x.id), `x out of the ISR: ${JSON.stringify(s)}`);
    }
    assert.equal(x.store.brokers().find((b) => b.nodeId === x.id)?.inControlledShutdown, true);
    // every view catches up with what x saw (x's watch may deliver a change before the controller's own)
    await until(() => nodes.every((n) => states.every((p) => (n.store.partitionState("t", p.partition)?.partitionEpoch ?? -1) >= p.partitionEpoch)), 20_000, "every view at x's partition epochs");

    // the leader of a partition cannot take x back into its ISR
    const s = states[0];
    const leader = nodes.find((n) => n.id === s.leader)!;
    assert.equal(await leader.plane.alterIsr(s, [...s.isr, x.id], new Map([[x.id, x.store.brokerEpoch]])), ErrorCode.INELIGIBLE_REPLICA);
    // nor can x be elected
    const preferredX = states.find((p) => p.replicas[0] === x.id)!;
    const [r] = await ctl.plane.electLeaders(ElectionType.PREFERRED, [{ topic: "t", partition: preferredX.partition }]);
    assert.equal(r.error, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, `${r.message}: ctl sees ${JSON.stringify(ctl.store.partitionState("t", preferredX.partition))}, x saw ${JSON.stringify(preferredX)}, x is ${x.id}, ctl ${ctl.id}`);
    // new topics are placed on the two other brokers only
    await ctl.controller.createTopic({ name: "later", partitions: 4, replicationFactor: 2, idHex: ID.replace("00", "11") });
    for (let p = 0; p < 4; p++) assert.ok(!ctl.store.partitionState("later", p)!.replicas.includes(x.id));
    await assert.rejects(ctl.controller.createTopic({ name: "too-wide", partitions: 1, replicationFactor: 3, idHex: ID.replace("00", "22") }), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_REPLICATION_FACTOR);
  } finally {
    for (const n of nodes) await n.close();
  }
});
