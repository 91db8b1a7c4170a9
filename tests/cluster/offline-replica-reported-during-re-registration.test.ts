/**
 * A replica reported offline (KIP-112) while the broker's re-registration is in flight, against a real etcd: the
 * registration's txn was built before the report, and the report's own write finds no registration to write under
 * (the session is fenced until the txn answers). The record must still reach etcd once the broker is registered again,
 * else the controller never takes the replica out of the ISR nor moves its leadership.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ClusterKeys } from "../../src/cluster/cluster-keys.ts";
import { EtcdClient, type Compare, type TxnOp, type TxnResult } from "../../src/cluster/etcd-client.ts";
import { EtcdMetadataStore } from "../../src/cluster/etcd-metadata-store.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { until } from "./cluster-fixture.ts";

const skip = ETCD_SKIP_REASON;
const ctx = sharedTestEtcd();
const T1 = "c3".repeat(16);
const endpoints = [{ name: "PLAINTEXT", host: "127.0.0.1", port: 9092, securityProtocol: "PLAINTEXT" as const }];

/** A real etcd client that runs `beforeRegistration` once, just before the next registration txn of `brokerKey` goes out. */
class ObservedClient extends EtcdClient {
  beforeRegistration: (() => Promise<void>) | null = null;
  brokerKey = "";

  override async txn(compare: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<TxnResult> {
    const hook = this.beforeRegistration;
    if (hook !== null && compare.some((c) => c.key === this.brokerKey && c.target === "CREATE" && c.value === 0)) {
      this.beforeRegistration = null;
      await hook();
    }
    return super.txn(compare, success, failure);
  }
}

test("a replica reported offline while the re-registration txn is in flight still reaches etcd", { skip, timeout: 60_000 }, async () => {
  const root = "/offline-during-reregistration";
  const keys = new ClusterKeys(root);
  const client = new ObservedClient({ endpoints: [ctx.etcd.endpoint], requestTimeoutMs: 2_000 });
  client.brokerKey = keys.broker(1);
  const a = new EtcdMetadataStore(client, keys, { sessionTimeoutSeconds: 2 });
  const b = new EtcdMetadataStore(new EtcdClient({ endpoints: [ctx.etcd.endpoint], requestTimeoutMs: 2_000 }), keys, { sessionTimeoutSeconds: 2 });
  await a.start();
  await b.start();
  try {
    await a.registerBroker({ nodeId: 1, brokerEpoch: -1, rack: null, endpoints });
    let reported = false;
    client.beforeRegistration = async () => {
      // the disk fails now: the registration txn about to go out was built without this replica
      await a.publishOfflineReplica(T1, 0);
      reported = true;
    };
    const lost = a.leaseId!;
    await ctx.client.leaseRevoke(lost);
    await until(() => reported && a.leaseId !== null && a.leaseId !== lost, 20_000, "re-registered after the report");
    await until(() => b.offlineReplicas(T1, 0).length === 1, 10_000, "B sees broker 1's offline replica");
    assert.equal((await ctx.client.get(`${root}/offline-replicas/1`))?.lease, a.leaseId);
  } finally {
    await a.close();
    await b.close();
  }
});
