/**
 * The HTTP API of a sharded node (`runnel start --shards 2`) in an etcd cluster answers as one broker of a cluster
 * does: a topic's partition details name the cluster's real leader and replicas (a partition led by another broker
 * is not shown as led by this node), and `/v1/brokers/{node.id}/configs` describes the node (its shards run with the
 * node's id, not a shard index). The other broker (32) is registered by the test and never answers; the partition
 * states stay as the test writes them.
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
const NODE_ID = 31;

test("a sharded node in an etcd cluster: /v1/topics/{name} names the real leaders and replicas, /v1/brokers/{node.id}/configs describes the node", { skip, timeout: 180_000 }, async () => {
  const other = await ControlPlane.start({ endpoints: [ctx.etcd.endpoint], nodeId: 32, controllerCandidate: false });
  let node: ShardedHttpNode | null = null;
  try {
    await other.store.registerBroker({ nodeId: 32, brokerEpoch: 0, rack: null, endpoints: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 1, securityProtocol: "PLAINTEXT" }] });
    node = await startShardedHttpNode(2, { "node.id": String(NODE_ID), "metadata.etcd.endpoints": ctx.etcd.endpoint });
    const url = node.url;
    await other.store.createTopic({ name: "t", idHex: "0123456789abcdef0123456789abcdef", partitions: 2, replicationFactor: 2, configs: {}, createdAtMs: 0 }, [
      { topic: "t", partition: 0, replicas: [32, NODE_ID], leader: 32, leaderEpoch: 0, isr: [32, NODE_ID], partitionEpoch: 0 },
      { topic: "t", partition: 1, replicas: [NODE_ID, 32], leader: NODE_ID, leaderEpoch: 0, isr: [NODE_ID, 32], partitionEpoch: 0 },
    ]);
    let details: { partition: number; leader: number; replicas: number[]; isr: number[] }[] = [];
    await until("the topic's two partitions in /v1/topics/t", 30_000, async () => {
      const r = await httpJson(`${url}/v1/topics/t`);
      details = r.status === 200 ? r.body.partitionDetails : [];
      return details.length === 2;
    });
    assert.deepEqual(details.map((p) => [p.partition, p.leader, p.replicas, p.isr]), [[0, 32, [32, NODE_ID], [32, NODE_ID]], [1, NODE_ID, [NODE_ID, 32], [NODE_ID, 32]]]);

    const configs = await httpJson(`${url}/v1/brokers/${NODE_ID}/configs`);
    assert.equal(configs.status, 200, JSON.stringify(configs.body));
    assert.equal(configs.body.configs.find((c: { name: string }) => c.name === "node.id")?.value, String(NODE_ID));
  } finally {
    await node?.stop();
    await other.close();
  }
});
