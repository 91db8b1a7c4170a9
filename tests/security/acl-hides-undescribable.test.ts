/**
 * What Kafka hides instead of refusing, with a principal (alice) that has DESCRIBE on group `g-mine`, READ on topic
 * `a` and DESCRIBE on transactional id `tx-mine` only: kafkajs listGroups shows only `g-mine` (no cluster DESCRIBE
 * needed) and describeCluster works; Kafka's kafka-consumer-groups --describe (OffsetFetch for all of a group's
 * topics) shows the offsets committed on `a` but not on `b`; kafka-transactions --list shows only `tx-mine`. The
 * Java Admin's listConsumerGroupOffsets (OffsetFetch v8+) for partitions of `a` and `b` gets `a`'s offset, `b`
 * being answered TOPIC_AUTHORIZATION_FAILED inside the group (which the Admin leaves out of its result); its
 * describeConsumerGroups of `g-mine` and `g-other` at once (a batched FindCoordinator v4+) describes `g-mine` and
 * refuses only `g-other`; the authorized operations it is told are alice's: none on the cluster, READ and DESCRIBE
 * on `a`, DESCRIBE on `g-mine`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } from "kafkajs";
import { KAFKA_TOOL, javaSkip, runJava, startToolSession } from "../support/java.ts";
import { aclClient, aclClientProperties, startAclBroker } from "./acl-broker.ts";

test("ListGroups, ListTransactions and OffsetFetch of all topics leave out what the principal may not describe", { skip: javaSkip, timeout: 120_000 }, async () => {
  const b = await startAclBroker();
  const admin = aclClient(b, "admin").admin();
  const alice = aclClient(b, "alice").admin();
  const tools = startToolSession();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-acl-hide-"));
  try {
    await admin.connect();
    await admin.createTopics({ topics: ["a", "b"].map((topic) => ({ topic })) });
    const props = (user: string) => aclClientProperties(dir, user);
    for (const groupId of ["g-mine", "g-other"]) {
      const reset = await tools.run(KAFKA_TOOL.consumerGroups, ["--bootstrap-server", b.bootstrap, "--command-config", props("admin"), "--reset-offsets", "--group", groupId, "--topic", "a", "--topic", "b", "--to-earliest", "--execute"]);
      assert.equal(reset.code, 0, reset.stderr);
    }
    for (const transactionalId of ["tx-mine", "tx-other"]) {
      const p = aclClient(b, "admin").producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, retry: { retries: 3 } });
      await p.connect();
      const tx = await p.transaction();
      await tx.send({ topic: "a", messages: [{ value: transactionalId }] });
      await tx.commit();
      await p.disconnect();
    }
    const allow = (resourceType: number, resourceName: string, operation: number) => ({ resourceType, resourceName, resourcePatternType: ResourcePatternTypes.LITERAL, principal: "User:alice", host: "*", operation, permissionType: AclPermissionTypes.ALLOW });
    await admin.createAcls({ acl: [
      allow(AclResourceTypes.GROUP, "g-mine", AclOperationTypes.DESCRIBE),
      allow(AclResourceTypes.TOPIC, "a", AclOperationTypes.READ),
      allow(AclResourceTypes.TRANSACTIONAL_ID, "tx-mine", AclOperationTypes.DESCRIBE),
    ] });

    await alice.connect();
    assert.deepEqual((await alice.listGroups()).groups.map((g) => g.groupId), ["g-mine"]);
    assert.equal((await alice.describeCluster()).brokers.length, 1);

    const groups = await tools.run(KAFKA_TOOL.consumerGroups, ["--bootstrap-server", b.bootstrap, "--command-config", props("alice"), "--describe", "--group", "g-mine"]);
    assert.equal(groups.code, 0, groups.stderr);
    const rows = groups.stdout.split("\n").filter((l) => l.startsWith("g-mine "));
    assert.deepEqual(rows.map((l) => l.split(/\s+/)[1]), ["a"], groups.stdout);
    const aliceProps = ["--prop", "security.protocol=SASL_PLAINTEXT", "--prop", "sasl.mechanism=PLAIN", "--prop", 'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="alice-pw";'];
    const offsets = await runJava("runnel.GroupOffsets", ["--bootstrap", b.bootstrap, "--group", "g-mine", "--partitions", "a-0,b-0", ...aliceProps]);
    assert.equal(offsets.code, 0, offsets.stderr);
    assert.deepEqual(JSON.parse(offsets.stdout.trim().split("\n").pop()!), { event: "offsets", result: { "a-0": 0 } });
    assert.match(offsets.stderr, /Skipping return offset for b-0 due to error TOPIC_AUTHORIZATION_FAILED/);
    const described = await runJava("runnel.DescribeGroupsAs", ["--bootstrap", b.bootstrap, "--groups", "g-mine,g-other", ...aliceProps]);
    assert.equal(described.code, 0, described.stderr);
    assert.deepEqual(JSON.parse(described.stdout.trim().split("\n").pop()!).result, { "g-mine": "Empty", "g-other": "GroupAuthorizationException" });
    const ops = await runJava("runnel.AuthorizedOps", ["--bootstrap", b.bootstrap, "--topic", "a", "--group", "g-mine", ...aliceProps]);
    assert.equal(ops.code, 0, ops.stderr);
    const told = JSON.parse(ops.stdout.trim().split("\n").pop()!);
    assert.deepEqual([told.cluster, told.topic, told.group], [[], ["DESCRIBE", "READ"], ["DESCRIBE"]]);
    const txns = await tools.run(KAFKA_TOOL.transactions, ["--bootstrap-server", b.bootstrap, "--command-config", props("alice"), "list"]);
    assert.equal(txns.code, 0, txns.stderr);
    assert.match(txns.stdout, /tx-mine/);
    assert.doesNotMatch(txns.stdout, /tx-other/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await tools.close();
    await alice.disconnect();
    await admin.disconnect();
    await b.stop();
  }
});
