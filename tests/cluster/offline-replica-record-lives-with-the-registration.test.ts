/**
 * A broker's offline-replica record (KIP-112: the replicas in its failed log dirs) against a real etcd: a replica
 * reported before the broker registers is written with the registration; later ones join the record; another
 * broker's store sees them by partition; the record goes with the registration's lease and comes back with the
 * broker's re-registration after a lost lease; a replica withdrawn (created anew on a working dir) leaves it, and the
 * last one deletes it; a broker's ended registration takes it away.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ClusterKeys } from "../../src/cluster/cluster-keys.ts";
import { EtcdClient } from "../../src/cluster/etcd-client.ts";
import { EtcdMetadataStore } from "../../src/cluster/etcd-metadata-store.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { until } from "./cluster-fixture.ts";

const skip = ETCD_SKIP_REASON;
const ctx = sharedTestEtcd();
const T1 = "a1".repeat(16);
const T2 = "b2".repeat(16);
const endpoints = [{ name: "PLAINTEXT", host: "127.0.0.1", port: 9092, securityProtocol: "PLAINTEXT" as const }];

async function store(root: string): Promise<EtcdMetadataStore> {
  const s = new EtcdMetadataStore(new EtcdClient({ endpoints: [ctx.etcd.endpoint], requestTimeoutMs: 2_000 }), new ClusterKeys(root), { sessionTimeoutSeconds: 2 });
  await s.start();
  return s;
}

test("the offline-replica record is written with the registration, grows, is seen by others, and lives and ends with the registration's lease", { skip, timeout: 60_000 }, async () => {
  const root = "/offline-record";
  const [a, b] = [await store(root), await store(root)];
  try {
    // reported before the broker registers: nothing to write under yet, so the registration carries it
    await a.publishOfflineReplica(T1, 0);
    assert.equal(await ctx.client.get(`${root}/offline-replicas/1`), null);
    await a.registerBroker({ nodeId: 1, brokerEpoch: -1, rack: null, endpoints });
    const kv = await ctx.client.get(`${root}/offline-replicas/1`);
    assert.ok(kv !== null && kv.lease === a.leaseId, "written under the registration's lease");
    await until(() => b.offlineReplicas(T1, 0).length === 1, 20_000, "B sees broker 1's offline replica");
    assert.deepEqual(b.offlineReplicas(T1, 0), [1]);
    assert.deepEqual(b.offlineReplicas(T1, 1), []);

    // a burst of reports (every partition of a failed dir) ends in one record holding them all
    await Promise.all([a.publishOfflineReplica(T1, 1), a.publishOfflineReplica(T2, 3)]);
    await until(() => b.offlineReplicas(T2, 3).length === 1 && b.offlineReplicas(T1, 1).length === 1, 20_000, "B sees the later reports");
    assert.deepEqual(b.offlineReplicaRecords(), [{ nodeId: 1, partitions: [{ topicIdHex: T1, partition: 0 }, { topicIdHex: T1, partition: 1 }, { topicIdHex: T2, partition: 3 }] }]);

    // the lease ends (etcd or an operator): the record goes with it, and the broker's re-registration writes it again
    const lost = a.leaseId!;
    await ctx.client.leaseRevoke(lost);
    await until(() => b.offlineReplicas(T1, 0).length === 0, 20_000, "the record gone with the lease");
    await until(() => a.leaseId !== null && a.leaseId !== lost && b.offlineReplicas(T1, 0).length === 1, 20_000, "the record back with the new registration");
    assert.equal((await ctx.client.get(`${root}/offline-replicas/1`))?.lease, a.leaseId);
    assert.deepEqual(b.offlineReplicas(T2, 3), [1]);

    // replicas created anew on a working dir (reassigned away and back) leave the record; the last takes it away
    await a.withdrawOfflineReplica(T1, 0);
    await until(() => b.offlineReplicas(T1, 0).length === 0, 20_000, "B sees T1-0 withdrawn");
    assert.deepEqual(b.offlineReplicas(T1, 1), [1]);
    await Promise.all([a.withdrawOfflineReplica(T1, 1), a.withdrawOfflineReplica(T2, 3)]);
    await until(() => b.offlineReplicaRecords().length === 0, 20_000, "the record deleted with its last replica");
    assert.equal(await ctx.client.get(`${root}/offline-replicas/1`), null);
    await a.publishOfflineReplica(T2, 3);
    await until(() => b.offlineReplicas(T2, 3).length === 1, 20_000, "a later report writes the record again");

    // the registration ends: so does the record (a broker restarted with its disk fixed starts without one)
    await a.unregisterBroker(1);
    await until(() => b.offlineReplicaRecords().length === 0, 20_000, "the record gone with the registration");
  } finally {
    await a.close();
    await b.close();
  }
});
