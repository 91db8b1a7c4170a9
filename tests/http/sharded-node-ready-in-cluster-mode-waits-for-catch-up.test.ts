/**
 * `/v1/ready` of a sharded node (`runnel start --shards 2`) in an etcd cluster waits for replication to catch up, as
 * one broker's does: once registered and following nothing it answers 200; when it becomes a replica of a partition
 * led by another broker without being in its ISR it answers 503 naming the partition; once the leader takes it into
 * the ISR (a compare-and-set in etcd) it answers 200 again. A rolling restart that waits for `/v1/ready` must not
 * stop the next broker while this one is still behind. The other broker (node 32) is registered by the test and
 * never answers, so the partition state stays as the test writes it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ControlPlane } from "../../src/cluster/control-plane.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { startShardedHttpNode, type ShardedHttpNode } from "../support/sharded-http-node.ts";
import { httpJson } from "../support/http-broker.ts";
import { until } from "../support/cluster-processes.ts";

const skip = ETCD_SKIP_REASON;
const ctx = sharedTestEtcd();

test("a sharded node in an etcd cluster: /v1/ready is 503 while it is outside the ISR of a partition it follows, 200 once it is in", { skip, timeout: 180_000 }, async () => {
  // The test's own view of the cluster: it registers the other broker (32) and writes the partition states.
  const other = await ControlPlane.start({ endpoints: [ctx.etcd.endpoint], nodeId: 32, controllerCandidate: false });
  let node: ShardedHttpNode | null = null;
  try {
    await other.store.registerBroker({ nodeId: 32, brokerEpoch: 0, rack: null, endpoints: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 1, securityProtocol: "PLAINTEXT" }] });
    node = await startShardedHttpNode(2, { "node.id": "31", "metadata.etcd.endpoints": ctx.etcd.endpoint });
    const url = node.url;

    await other.store.createTopic({ name: "t", idHex: "0123456789abcdef0123456789abcdef", partitions: 1, replicationFactor: 2, configs: {}, createdAtMs: 0 }, [
      { topic: "t", partition: 0, replicas: [32, 31], leader: 32, leaderEpoch: 0, isr: [32], partitionEpoch: 0 },
    ]);
    await until("/v1/ready to answer 503", 30_000, async () => (await httpJson(`${url}/v1/ready`)).status === 503);
    const behind = await httpJson(`${url}/v1/ready`);
    assert.equal(behind.body.reason, "catching up: not yet in the ISR of 1 partition(s) it follows (t-0)", JSON.stringify(behind.body));

    const p0 = other.store.partitionState("t", 0)!;
    assert.ok(await other.store.compareAndSetPartition({ ...p0, isr: [32, 31], partitionEpoch: p0.partitionEpoch + 1 }, p0.partitionEpoch));
    await until("/v1/ready to answer 200", 30_000, async () => (await httpJson(`${url}/v1/ready`)).status === 200);
  } finally {
    await node?.stop();
    await other.close();
  }
});
