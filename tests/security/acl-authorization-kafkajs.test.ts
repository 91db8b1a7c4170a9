/**
 * ACLs with Kafka's authorizer semantics through kafkajs: an admin (in `super.users`) creates ACLs; a principal
 * with only READ on topic `a` and on its group consumes `a` but cannot produce to it, does not see topic `b` in
 * Metadata and cannot create topics; a prefixed ALLOW with a literal DENY on one topic works as in Kafka (DENY wins)
 * until the DENY is deleted; a request mixing allowed and refused topics is refused per topic; TOPIC_, GROUP_, CLUSTER_ and TRANSACTIONAL_ID_AUTHORIZATION_FAILED each reach the
 * client; DescribeAcls and DeleteAcls filters match as Kafka's do.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } from "kafkajs";
import { aclClient, startAclBroker } from "./acl-broker.ts";


/** The error or one of its causes carries Kafka error type `type`. */
function hasType(e: unknown, type: string, depth = 0): boolean {
  if (e === null || typeof e !== "object" || depth > 6) return false;
  const x = e as { type?: string; cause?: unknown; errors?: unknown[]; groups?: unknown[]; error?: unknown; originalError?: unknown };
  return x.type === type || [x.cause, x.originalError, x.error, ...(x.errors ?? []), ...(x.groups ?? [])].some((c) => hasType(c, type, depth + 1));
}

async function rejectsWith(p: Promise<unknown>, type: string): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(hasType(e, type), `expected ${type}, got ${(e as Error).name}: ${(e as Error).message}`);
    return true;
  });
}

test("READ on topic a and its group: consume a, not produce; b hidden; no create; prefixed ALLOW with literal DENY; every authorization error", { timeout: 120_000 }, async () => {
  const b = await startAclBroker({ "auto.create.topics.enable": "true" });
  const client = (user: string) => aclClient(b, user);
  const adminClient = client("admin").admin();
  const alice = client("alice");
  const aliceAdmin = alice.admin();
  try {
    await adminClient.connect();
    await adminClient.createTopics({ topics: ["a", "b", "p-1", "p-2"].map((topic) => ({ topic })) });
    const adminProducer = client("admin").producer();
    await adminProducer.connect();
    await adminProducer.send({ topic: "a", messages: [{ value: "one" }, { value: "two" }] });
    await adminProducer.disconnect();
    const acl = (resourceType: number, resourceName: string, resourcePatternType: number, operation: number, permissionType = AclPermissionTypes.ALLOW) => ({ resourceType, resourceName, resourcePatternType, principal: "User:alice", host: "*", operation, permissionType });
    await adminClient.createAcls({ acl: [
      acl(AclResourceTypes.TOPIC, "a", ResourcePatternTypes.LITERAL, AclOperationTypes.READ),
      acl(AclResourceTypes.GROUP, "g", ResourcePatternTypes.LITERAL, AclOperationTypes.READ),
      acl(AclResourceTypes.TOPIC, "p-", ResourcePatternTypes.PREFIXED, AclOperationTypes.WRITE),
      acl(AclResourceTypes.TOPIC, "p-2", ResourcePatternTypes.LITERAL, AclOperationTypes.WRITE, AclPermissionTypes.DENY),
      // DESCRIBE lets FindCoordinator find tx-1's coordinator; producing in a transaction needs WRITE.
      acl(AclResourceTypes.TRANSACTIONAL_ID, "tx-1", ResourcePatternTypes.LITERAL, AclOperationTypes.DESCRIBE),
    ] });

    // Consumes a in group g.
    const consumer = alice.consumer({ groupId: "g" });
    await consumer.connect();
    await consumer.subscribe({ topic: "a", fromBeginning: true });
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer.run({ eachMessage: async ({ message }) => {
        got.push(message.value!.toString());
        if (got.length === 2) resolve();
      } }).catch(reject);
    });
    await consumer.disconnect();
    assert.deepEqual(got, ["one", "two"]);

    await aliceAdmin.connect();
    assert.deepEqual((await aliceAdmin.listTopics()).sort(), ["a", "p-1", "p-2"], "b is hidden (DESCRIBE is implied by READ and WRITE only)");
    await rejectsWith(aliceAdmin.createTopics({ topics: [{ topic: "c" }] }), "TOPIC_AUTHORIZATION_FAILED");
    await rejectsWith(aliceAdmin.describeAcls({ resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }), "CLUSTER_AUTHORIZATION_FAILED");
    // READ on group g implies DESCRIBE (FindCoordinator passes), not DELETE.
    await rejectsWith(aliceAdmin.deleteGroups(["g"]), "GROUP_AUTHORIZATION_FAILED");

    const producer = alice.producer();
    await producer.connect();
    await rejectsWith(producer.send({ topic: "a", messages: [{ value: "x" }] }), "TOPIC_AUTHORIZATION_FAILED");
    await producer.send({ topic: "p-1", messages: [{ value: "prefixed allow" }] });
    await rejectsWith(producer.send({ topic: "p-2", messages: [{ value: "denied" }] }), "TOPIC_AUTHORIZATION_FAILED");
    // One request for an allowed and a refused topic: refused per topic, the allowed one is still written (as Kafka).
    await rejectsWith(producer.sendBatch({ topicMessages: [{ topic: "a", messages: [{ value: "no" }] }, { topic: "p-1", messages: [{ value: "yes" }] }] }), "TOPIC_AUTHORIZATION_FAILED");
    assert.equal((await adminClient.fetchTopicOffsets("p-1"))[0].high, "2", "the allowed topic of the mixed request was written");
    assert.equal((await adminClient.fetchTopicOffsets("a"))[0].high, "2", "the refused topic was not");
    await producer.disconnect();

    const txProducer = alice.producer({ transactionalId: "tx-1", maxInFlightRequests: 1, idempotent: true, retry: { retries: 1 } });
    await txProducer.connect().then(() => txProducer.transaction()).then(
      () => assert.fail("a transaction without WRITE on the transactional id"),
      (e) => assert.ok(hasType(e, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"), `${(e as Error).message}`),
    );
    await txProducer.disconnect();

    const described = await adminClient.describeAcls({ resourceType: AclResourceTypes.TOPIC, resourceName: "p-2", resourcePatternType: ResourcePatternTypes.MATCH, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY });
    assert.deepEqual(described.resources.map((r) => [r.resourceName, r.resourcePatternType]).sort(), [["p-", ResourcePatternTypes.PREFIXED], ["p-2", ResourcePatternTypes.LITERAL]]);
    const deleted = await adminClient.deleteAcls({ filters: [{ resourceType: AclResourceTypes.TOPIC, resourceName: "p-2", resourcePatternType: ResourcePatternTypes.LITERAL, principal: "User:alice", host: "*", operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.DENY }] });
    assert.equal(deleted.filterResponses[0].matchingAcls.length, 1);
    const again = alice.producer();
    await again.connect();
    await again.send({ topic: "p-2", messages: [{ value: "allowed once the DENY is gone" }] });
    await again.disconnect();
  } finally {
    await aliceAdmin.disconnect();
    await adminClient.disconnect();
    await b.stop();
  }
});
