/**
 * The JSON API's ACL and SCRAM user calls, checked with kafkajs: a user created by POST /v1/users logs in over
 * SASL/SCRAM-SHA-512 (and over HTTP basic auth); an ACL created by POST /v1/acls lets it produce and is seen by
 * DescribeAcls; DELETE takes both away again. Only a principal with ALTER on the cluster may change them (403
 * otherwise); invalid input answers the Kafka error name with 400, a missing ACL or user 404.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel, AclResourceTypes, ResourcePatternTypes, AclOperationTypes, AclPermissionTypes } from "kafkajs";
import { startHttpTestBroker } from "../support/http-broker.ts";

const JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-pw" user_admin="admin-pw";';

test("JSON API: SCRAM users and ACLs created and deleted over HTTP take effect for Kafka clients", { timeout: 120_000 }, async () => {
  const b = await startHttpTestBroker({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512",
    "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:admin",
    "http.authentication.methods": "BASIC",
  });
  const http = async (who: [string, string], method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { authorization: `Basic ${Buffer.from(who.join(":")).toString("base64")}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${b.url}/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const admin: [string, string] = ["admin", "admin-pw"];
  const kafka = (mechanism: "plain" | "scram-sha-512", username: string, password: string) => new Kafka({ clientId: username, brokers: [b.bootstrap], sasl: { mechanism, username, password } as never, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const kafkaAdmin = kafka("plain", "admin", "admin-pw").admin();
  try {
    await kafkaAdmin.connect();
    await kafkaAdmin.createTopics({ topics: [{ topic: "orders" }] });

    // A SCRAM user made over HTTP logs in to Kafka and to the HTTP side.
    const created = await http(admin, "POST", "/users", { name: "alice", password: "alice-pw", mechanism: "SCRAM-SHA-512", iterations: 8192 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual((await http(admin, "GET", "/users")).body.users, [{ name: "alice", credentials: [{ mechanism: "SCRAM-SHA-512", iterations: 8192 }] }]);
    const alice = kafka("scram-sha-512", "alice", "alice-pw");
    const producer = alice.producer();
    await producer.connect();
    assert.equal((await http(["alice", "alice-pw"], "GET", "/topics")).status, 200);
    assert.equal((await http(["alice", "wrong"], "GET", "/topics")).status, 401);

    // No ACL: produce refused; alice may not grant herself one.
    await assert.rejects(producer.send({ topic: "orders", messages: [{ value: "x" }] }), /authoriz/i);
    const selfGrant = await http(["alice", "alice-pw"], "POST", "/acls", { principal: "User:alice", operation: "WRITE", resourceType: "TOPIC", resourceName: "orders" });
    assert.equal(selfGrant.status, 403);
    assert.equal(selfGrant.body.error, "CLUSTER_AUTHORIZATION_FAILED");

    // An ACL made over HTTP: Kafka's DescribeAcls sees it and alice produces.
    const acl = { principal: "User:alice", operation: "WRITE", resourceType: "TOPIC", resourceName: "orders", patternType: "LITERAL", host: "*", permission: "ALLOW" };
    const made = await http(admin, "POST", "/acls", acl);
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.deepEqual((await http(admin, "GET", "/acls")).body.acls, [acl]);
    const seen = await kafkaAdmin.describeAcls({ resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY });
    assert.deepEqual(seen.resources.map((r) => [r.resourceName, r.acls.map((a) => [a.principal, a.operation])]), [["orders", [["User:alice", AclOperationTypes.WRITE]]]]);
    await producer.send({ topic: "orders", messages: [{ value: "allowed" }] });

    // Invalid ACLs answer Kafka's error names.
    const badOp = await http(admin, "POST", "/acls", { ...acl, operation: "FLY" });
    assert.equal(badOp.status, 400);
    assert.equal(badOp.body.error, "INVALID_REQUEST");
    const badCluster = await http(admin, "POST", "/acls", { ...acl, resourceType: "CLUSTER", resourceName: "not-the-cluster" });
    assert.equal(badCluster.status, 400);
    assert.match(badCluster.body.message, /kafka-cluster/);
    const fewIterations = await http(admin, "POST", "/users", { name: "bob", password: "pw", iterations: 100 });
    assert.equal(fewIterations.status, 400);
    assert.equal(fewIterations.body.error, "UNACCEPTABLE_CREDENTIAL");

    // Deleting the ACL refuses produce again; deleting the user refuses its login.
    assert.equal((await http(admin, "DELETE", "/acls", acl)).status, 200);
    assert.equal((await http(admin, "DELETE", "/acls", acl)).status, 404);
    await assert.rejects(producer.send({ topic: "orders", messages: [{ value: "y" }] }), /authoriz/i);
    await producer.disconnect();
    assert.equal((await http(admin, "DELETE", "/users/alice")).status, 200);
    assert.equal((await http(admin, "DELETE", "/users/alice")).status, 404);
    assert.deepEqual((await http(admin, "GET", "/users")).body.users, []);
    const again = kafka("scram-sha-512", "alice", "alice-pw").producer();
    await assert.rejects(again.connect(), /authentication|SASL/i);
    assert.equal((await http(["alice", "alice-pw"], "GET", "/topics")).status, 401);
    // The refused SCRAM login is the listener's one failed authentication.
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    assert.match(metrics, /^kafka_server_socket_server_metrics_failed_authentication_total\{listener="SASL_PLAINTEXT"\} 1$/m);
    assert.match(metrics, /^kafka_server_socket_server_metrics_successful_authentication_total\{listener="SASL_PLAINTEXT"\} [1-9]\d*$/m);
  } finally {
    await kafkaAdmin.disconnect();
    await b.stop();
  }
});
