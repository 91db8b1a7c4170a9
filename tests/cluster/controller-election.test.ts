/**
 * Controller election against a real etcd: two candidates racing, exactly one wins and everyone (a non-candidate
 * too) sees the same controller; when the controller's lease expires the other candidate takes over with a higher
 * epoch, and a write fenced with the old controller epoch is refused. Closing an election rejects whoever still waits
 * for a controller to be known.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ClusterKeys } from "../../src/cluster/cluster-keys.ts";
import { ControllerElection } from "../../src/cluster/controller-election.ts";
import { LeaseKeeper } from "../../src/cluster/etcd-lease.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { startNode, until, type TestNode } from "./cluster-fixture.ts";

const skip = ETCD_SKIP_REASON;
const ctx = sharedTestEtcd();

test("two candidates race: exactly one becomes controller, and every broker sees it", { skip, timeout: 60_000 }, async () => {
  for (let round = 0; round < 5; round++) {
    const root = `/race${round}`;
    const observer = new ControllerElection(ctx.client, new ClusterKeys(root), { nodeId: 99, candidate: false });
    await observer.start();
    const nodes = await Promise.all([startNode(ctx.etcd.endpoint, root, 1), startNode(ctx.etcd.endpoint, root, 2)]);
    try {
      await until(() => nodes.some((n) => n.election.isActive) && observer.current.controllerId > 0, 20_000, "a controller");
      const winners = nodes.filter((n) => n.election.isActive);
      assert.equal(winners.length, 1, `round ${round}: exactly one active controller`);
      const w = winners[0];
      assert.deepEqual(w.elected, [w.election.current.epoch]);
      await until(() => nodes.every((n) => n.election.current.controllerId === w.id), 20_000, "both see the winner");
      assert.equal(observer.current.controllerId, w.id);
      for (const n of nodes) assert.equal(n.plane.controllerId, w.id);
      assert.equal(observer.current.epoch, w.election.current.epoch);
      assert.equal(nodes.find((n) => n !== w)!.elected.length, 0, "the loser was never elected");
    } finally {
      for (const n of nodes) await n.close();
      await observer.close();
    }
  }
});

test("the controller's lease expires: the other candidate takes over with a higher epoch; the old epoch is fenced", { skip, timeout: 60_000 }, async () => {
  const root = "/expiry";
  const frozen = new ManualClock(); // node 1 sends keep-alives only when this clock moves; it never does here
  const nodes: TestNode[] = [];
  try {
    nodes.push(await startNode(ctx.etcd.endpoint, root, 1, { clock: frozen, ttlSeconds: 1 }));
    await until(() => nodes[0].election.isActive, 20_000, "node 1 elected");
    const oldEpoch = nodes[0].election.current.epoch;
    nodes.push(await startNode(ctx.etcd.endpoint, root, 2));
    await until(() => nodes[1].election.current.controllerId === 1, 20_000, "node 2 sees node 1");
    // node 1's lease runs out in etcd: its registration and the controller key vanish; node 2 campaigns and wins
    await until(() => nodes[1].election.isActive, 30_000, "node 2 takes over");
    const newEpoch = nodes[1].election.current.epoch;
    assert.ok(newEpoch > oldEpoch);
    await until(() => !nodes[0].election.isActive, 20_000, "node 1 resigns when it sees the key go");
    // node 1 may see the key go (controller -1) before it sees node 2's
    await until(() => nodes[0].election.current.controllerId === 2, 20_000, "node 1 sees node 2 as controller");
    const stale = await ctx.client.txn([nodes[0].election.fence(oldEpoch)], [{ put: { key: `${root}/probe`, value: "x" } }]);
    assert.equal(stale.succeeded, false, "a write fenced by the old controller epoch is refused");
    await assert.rejects(
      nodes[0].controller.createTopic({ name: "t", partitions: 1, replicationFactor: 1, idHex: "00".repeat(16) }),
      (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.NOT_CONTROLLER,
    );
  } finally {
    for (const n of nodes) await n.close();
  }
});

test("a revoked lease fences the controller's broker: the other takes over, the fenced one re-registers with a new epoch", { skip, timeout: 60_000 }, async () => {
  const root = "/revoke";
  const nodes: TestNode[] = [];
  try {
    nodes.push(await startNode(ctx.etcd.endpoint, root, 1));
    await until(() => nodes[0].election.isActive, 20_000, "node 1 elected");
    nodes.push(await startNode(ctx.etcd.endpoint, root, 2));
    await until(() => nodes[1].plane.controllerId === 1, 20_000, "node 2 sees node 1");
    const [a, b] = nodes;
    const firstEpoch = a.store.brokerEpoch;
    await ctx.client.leaseRevoke(a.store.leaseId!); // an operator (or etcd) ends node 1's session
    await until(() => b.election.isActive, 20_000, "node 2 takes over");
    await until(() => a.registered.length === 2, 20_000, "node 1 re-registers");
    assert.deepEqual(a.fenced, [firstEpoch]);
    assert.ok(a.registered[1] > firstEpoch);
    assert.equal(a.store.brokerEpoch, a.registered[1]);
    assert.equal(a.election.isActive, false);
    await until(() => a.plane.controllerId === 2 && b.store.brokers().map((x) => x.brokerEpoch).includes(a.registered[1]), 20_000, "both agree");
  } finally {
    for (const n of nodes) await n.close();
  }
});

test("a newly elected controller already sees its own epoch when told it is elected (its first writes fence with it)", { skip, timeout: 60_000 }, async () => {
  const lease = await LeaseKeeper.grant(ctx.client, { ttlSeconds: 10, onLost: () => {} });
  const seen: { epoch: number; current: number; controllerId: number }[] = [];
  const election: ControllerElection = new ControllerElection(ctx.client, new ClusterKeys("/elected-view"), {
    nodeId: 7,
    candidate: true,
    onElected: (epoch) => seen.push({ epoch, current: election.current.epoch, controllerId: election.current.controllerId }),
  });
  try {
    await election.start();
    election.setLease(lease.id);
    await until(() => seen.length > 0, 20_000, "elected");
    assert.deepEqual(seen, [{ epoch: seen[0].epoch, current: seen[0].epoch, controllerId: 7 }]);
    assert.ok(seen[0].epoch > 0);
  } finally {
    await election.close();
    await lease.revoke();
  }
});

test("closing the election rejects every controllerKnown still waiting, and any asked after the close", { skip, timeout: 60_000 }, async () => {
  // A root where no broker campaigns: no controller is ever known there.
  const observer = new ControllerElection(ctx.client, new ClusterKeys("/no-controller"), { nodeId: 99, candidate: false });
  await observer.start();
  const waiting = [observer.controllerKnown(), observer.controllerKnown()];
  await observer.close();
  // A waiter left pending fails here instead of hanging the test (Deno's node:test ignores `timeout`).
  let pending: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => (pending = setTimeout(() => reject(new Error("controllerKnown still pending after close")), 20_000)));
  try {
    for (const w of waiting) await Promise.race([assert.rejects(w, /controller election closed before a controller was known/), hung]);
    await Promise.race([assert.rejects(observer.controllerKnown(), /controller election closed/), hung]);
  } finally {
    clearTimeout(pending);
  }
});
