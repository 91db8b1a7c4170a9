/**
 * The front terminates SASL and the shards authorize the client's own principal: over SASL_PLAINTEXT (PLAIN) with
 * Kafka's authorizer on, the super user creates a topic spread over both shards and an ACL giving alice READ on it
 * and on her group; alice then consumes every partition of both shards through her group, but producing to the
 * topic is refused with TOPIC_AUTHORIZATION_FAILED, and a wrong password never gets past the front.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes } from "kafkajs";
import { consumeValues, SASL_ACL_SETTINGS, startFrontOverShards } from "./front-fixture.ts";

test("SASL at the front, ACLs on the shards with the client's principal", { timeout: 120_000 }, async () => {
  const node = await startFrontOverShards({
    inThread: true,
    extra: SASL_ACL_SETTINGS,
  });
  const client = (user: string, password = `${user}-pw`) => new Kafka({ clientId: user, brokers: [node.bootstrap], sasl: { mechanism: "plain", username: user, password }, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100 } });
  try {
    const admin = client("admin").admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "a", numPartitions: 4 }], waitForLeaders: true });
    assert.deepEqual([...new Set([0, 1, 2, 3].map((p) => node.ownerOf("a", p)))].sort(), [0, 1]);
    const acl = (resourceType: number, resourceName: string, operation: number) => ({ resourceType, resourceName, resourcePatternType: ResourcePatternTypes.LITERAL, principal: "User:alice", host: "*", operation, permissionType: AclPermissionTypes.ALLOW });
    await admin.createAcls({ acl: [acl(AclResourceTypes.TOPIC, "a", AclOperationTypes.READ), acl(AclResourceTypes.GROUP, "g", AclOperationTypes.READ)] });
    const producer = client("admin").producer();
    await producer.connect();
    await producer.send({ topic: "a", acks: -1, messages: [0, 1, 2, 3].map((partition) => ({ partition, value: `m${partition}` })) });
    await producer.disconnect();
    await admin.disconnect();

    const alice = client("alice");
    const got = await consumeValues(alice.consumer({ groupId: "g", maxWaitTimeInMs: 200 }), "a", 4);
    assert.deepEqual(got.sort(), ["m0", "m1", "m2", "m3"]);

    const aliceProducer = alice.producer();
    await aliceProducer.connect();
    await assert.rejects(aliceProducer.send({ topic: "a", acks: -1, messages: [{ partition: 0, value: "x" }, { partition: 1, value: "y" }] }), (e: any) => {
      assert.match(JSON.stringify({ t: e.type, c: e.cause?.type, m: e.message, n: e.name }), /TOPIC_AUTHORIZATION_FAILED|not authorized/i);
      return true;
    });
    await aliceProducer.disconnect();

    const intruder = client("alice", "wrong").admin();
    await assert.rejects(intruder.connect(), /SASL|authentication|Authentication/);
  } finally {
    await node.close();
  }
});
