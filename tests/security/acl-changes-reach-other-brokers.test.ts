/**
 * ACLs in a cluster: two brokers share one etcd metadata store; an ACL created through broker 1 (kafkajs admin as a
 * super user) is enforced by broker 2 within a second: alice is refused DescribeAcls (CLUSTER_AUTHORIZATION_FAILED)
 * on broker 2 until the ACL exists, then allowed, and refused again once it is deleted through broker 1.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes } from "kafkajs";
import { ControlPlane } from "../../src/cluster/control-plane.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { startTestBroker, type TestBroker } from "../support/broker.ts";

const ctx = sharedTestEtcd();
const JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-pw" user_alice="alice-pw";';

test("an ACL created on one broker is enforced on the other within a second", { skip: ETCD_SKIP_REASON, timeout: 120_000 }, async () => {
  const root = `/acl-cluster-${process.pid}`;
  const planes: ControlPlane[] = [];
  const brokers: TestBroker[] = [];
  try {
    for (const nodeId of [1, 2]) {
      const plane = await ControlPlane.start({ endpoints: [ctx.etcd.endpoint], root, nodeId, sessionTimeoutMs: 2_000 });
      planes.push(plane);
      brokers.push(await startTestBroker({
        "node.id": String(nodeId),
        listeners: "SASL_PLAINTEXT://127.0.0.1:0",
        "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
        "authorizer.class.name": "runnel",
        "super.users": "User:admin",
      }, undefined, undefined, { metadata: plane.store }));
    }
    const client = (user: string, b: TestBroker) => new Kafka({ clientId: user, brokers: [b.bootstrap], sasl: { mechanism: "plain", username: user, password: `${user}-pw` }, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const anyAcl = { resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY };
    const aliceOn2 = async () => {
      const a = client("alice", brokers[1]).admin();
      try {
        await a.connect();
        await a.describeAcls(anyAcl);
        return "allowed";
      } catch (e) {
        return (e as { type?: string }).type ?? String(e);
      } finally {
        await a.disconnect();
      }
    };
    const until = async (want: string) => {
      const start = Date.now();
      let got = "";
      while (Date.now() - start < 5_000 && (got = await aliceOn2()) !== want) await new Promise((r) => setTimeout(r, 50));
      assert.equal(got, want);
      return Date.now() - start;
    };
    assert.equal(await aliceOn2(), "CLUSTER_AUTHORIZATION_FAILED");
    const admin1 = client("admin", brokers[0]).admin();
    await admin1.connect();
    const acl = { resourceType: AclResourceTypes.CLUSTER, resourceName: "kafka-cluster", resourcePatternType: ResourcePatternTypes.LITERAL, principal: "User:alice", host: "*", operation: AclOperationTypes.DESCRIBE, permissionType: AclPermissionTypes.ALLOW };
    await admin1.createAcls({ acl: [acl] });
    const took = await until("allowed");
    assert.ok(took < 1_000, `enforced on broker 2 after ${took} ms`);
    await admin1.deleteAcls({ filters: [acl] });
    await until("CLUSTER_AUTHORIZATION_FAILED");
    await admin1.disconnect();
  } finally {
    for (const b of brokers) await b.stop();
    for (const p of planes) await p.close();
  }
});
