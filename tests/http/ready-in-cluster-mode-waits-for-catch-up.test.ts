/**
 * `/v1/ready` in cluster mode waits for replication to catch up: a registered broker that is a replica of a
 * partition with a leader but not in its ISR answers 503 naming the partition; once the leader takes it into the
 * ISR (a compare-and-set in etcd, seen through the broker's watch) it answers 200. Partitions it leads, or that have
 * no leader, do not hold it back. Real etcd; no controller runs, so the partition states stay as the test writes them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ControlPlane } from "../../src/cluster/control-plane.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { startHttpTestBroker, httpJson } from "../support/http-broker.ts";
import { until } from "../support/cluster-processes.ts";

const skip = ETCD_SKIP_REASON;
const ctx = sharedTestEtcd();

test("cluster mode: /v1/ready is 503 while the broker is outside the ISR of a partition it follows, 200 once it is in", { skip, timeout: 120_000 }, async () => {
  const plane = await ControlPlane.start({ endpoints: [ctx.etcd.endpoint], root: "/ready-catch-up", nodeId: 21, controllerCandidate: false });
  let b: Awaited<ReturnType<typeof startHttpTestBroker>> | null = null;
  try {
    b = await startHttpTestBroker({ "node.id": "21", "metadata.etcd.endpoints": ctx.etcd.endpoint }, { deps: { metadata: plane.store }, readiness: () => plane.readinessProblem() });
    const idle = await httpJson(`${b.url}/v1/ready`);
    assert.equal(idle.status, 200, `registered, following nothing: ${JSON.stringify(idle.body)}`);
    // p0: led by 22, 21 not yet in sync; p1: led by 21 itself; p2: no leader
    await plane.store.createTopic({ name: "t", idHex: "0123456789abcdef0123456789abcdef", partitions: 3, replicationFactor: 2, configs: {}, createdAtMs: 0 }, [
      { topic: "t", partition: 0, replicas: [22, 21], leader: 22, leaderEpoch: 0, isr: [22], partitionEpoch: 0 },
      { topic: "t", partition: 1, replicas: [21, 22], leader: 21, leaderEpoch: 0, isr: [21], partitionEpoch: 0 },
      { topic: "t", partition: 2, replicas: [22, 21], leader: -1, leaderEpoch: 1, isr: [22], partitionEpoch: 1 },
    ]);
    await until("the broker's watch to see the partitions", 30_000, () => plane.store.partitionState("t", 2) !== undefined);
    const behind = await httpJson(`${b.url}/v1/ready`);
    assert.equal(behind.status, 503);
    assert.equal(behind.body.reason, "catching up: not yet in the ISR of 1 partition(s) it follows (t-0)");

    const p0 = plane.store.partitionState("t", 0)!;
    assert.ok(await plane.store.compareAndSetPartition({ ...p0, isr: [22, 21], partitionEpoch: 1 }, 0));
    await until("/v1/ready to answer 200", 30_000, async () => (await httpJson(`${b!.url}/v1/ready`)).status === 200);
  } finally {
    await b?.stop();
    await plane.close();
  }
});
