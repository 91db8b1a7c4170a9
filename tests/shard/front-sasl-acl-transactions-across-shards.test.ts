/**
 * Transactions on a sharded node with Kafka's authorizer on: a shard verifies a transactional batch with the
 * coordinator's shard and the coordinator writes the markers on the partitions' shards, shard to shard, as the
 * node's own inter-broker identity (SHARD_PRINCIPAL), never as the client. alice, allowed WRITE on topic `a` and on
 * transactional id `tx-a` only, commits a transaction over all four partitions (both shards) and aborts another;
 * a read_committed consumer reads exactly the committed records. The super user's transaction commits too.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes } from "kafkajs";
import { consumeValues, SASL_ACL_SETTINGS, startFrontOverShards } from "./front-fixture.ts";

test("with ACLs, a client's transaction over partitions of both shards commits and aborts", { timeout: 120_000 }, async () => {
  const node = await startFrontOverShards({
    inThread: true,
    extra: SASL_ACL_SETTINGS,
  });
  const client = (user: string) => new Kafka({ clientId: user, brokers: [node.bootstrap], sasl: { mechanism: "plain", username: user, password: `${user}-pw` }, logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
  try {
    const admin = client("admin").admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "a", numPartitions: 4 }], waitForLeaders: true });
    assert.deepEqual([...new Set([0, 1, 2, 3].map((p) => node.ownerOf("a", p)))].sort(), [0, 1]);
    const allow = (resourceType: number, resourceName: string, operation: number) => ({ resourceType, resourceName, resourcePatternType: ResourcePatternTypes.LITERAL, principal: "User:alice", host: "*", operation, permissionType: AclPermissionTypes.ALLOW });
    await admin.createAcls({ acl: [allow(AclResourceTypes.TOPIC, "a", AclOperationTypes.WRITE), allow(AclResourceTypes.TRANSACTIONAL_ID, "tx-a", AclOperationTypes.WRITE)] });
    await admin.disconnect();

    const transact = async (user: string, transactionalId: string, prefix: string, commit: boolean) => {
      const p = client(user).producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
      await p.connect();
      const tx = await p.transaction();
      await tx.send({ topic: "a", acks: -1, messages: [0, 1, 2, 3].map((partition) => ({ partition, value: `${prefix}${partition}` })) });
      await (commit ? tx.commit() : tx.abort());
      await p.disconnect();
    };
    await transact("alice", "tx-a", "alice-", true);
    await transact("alice", "tx-a", "aborted-", false);
    await transact("admin", "tx-admin", "admin-", true);

    const got = await consumeValues(client("admin").consumer({ groupId: "reader", maxWaitTimeInMs: 200, readUncommitted: false }), "a", 8);
    assert.deepEqual(got.sort(), ["admin-0", "admin-1", "admin-2", "admin-3", "alice-0", "alice-1", "alice-2", "alice-3"]);
  } finally {
    await node.close();
  }
});
