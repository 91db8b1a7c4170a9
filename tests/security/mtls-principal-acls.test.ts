/**
 * mTLS principal against ACLs, end to end: the client certificate's subject `CN=alice,OU=eng,O=Runnel` is mapped by
 * `ssl.principal.mapping.rules` to `User:alice`, who has READ on topic `m-read` and group `m-g` and WRITE on
 * `m-write` only. Through kcat over SSL with that certificate: producing to `m-write` and consuming `m-read` in
 * group `m-g` work; producing to `m-read` is refused with TOPIC_AUTHORIZATION_FAILED; topic `m-hidden` is not in
 * Metadata; consuming in another group is refused with GROUP_AUTHORIZATION_FAILED.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes } from "kafkajs";
import { haveCommand, runProc } from "../support/proc.ts";
import { certSkip, startSecureBroker } from "./test-certs.ts";

const skip = certSkip || (haveCommand("kcat") ? false : "kcat is not installed (tests/setup.sh installs it as root)");

test("a certificate subject mapped to User:alice gets alice's ACLs: allowed and refused operations through kcat", { skip, timeout: 120_000 }, async () => {
  const secure = await startSecureBroker((c) => ({
    listeners: "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
    "ssl.keystore.location": c.serverKeystore,
    "listener.name.ssl.ssl.truststore.location": c.caCert,
    "listener.name.ssl.ssl.client.auth": "required",
    "listener.name.ssl.ssl.principal.mapping.rules": "RULE:^CN=([a-z]+),OU=eng,.*$/$1/L,DEFAULT",
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    // The test's own admin connects over PLAINTEXT as ANONYMOUS.
    "super.users": "User:ANONYMOUS",
  }));
  const { broker: b, certs } = secure;
  const admin = new Kafka({ clientId: "admin", brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    await admin.createTopics({ topics: ["m-read", "m-write", "m-hidden"].map((topic) => ({ topic })) });
    const producer = new Kafka({ clientId: "seed", brokers: [b.bootstrap], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({ topic: "m-read", messages: [{ key: "k1", value: "v1" }, { key: "k2", value: "v2" }] });
    await producer.disconnect();
    const allow = (resourceType: number, resourceName: string, operation: number) => ({ resourceType, resourceName, resourcePatternType: ResourcePatternTypes.LITERAL, principal: "User:alice", host: "*", operation, permissionType: AclPermissionTypes.ALLOW });
    await admin.createAcls({ acl: [
      allow(AclResourceTypes.TOPIC, "m-read", AclOperationTypes.READ),
      allow(AclResourceTypes.GROUP, "m-g", AclOperationTypes.READ),
      allow(AclResourceTypes.TOPIC, "m-write", AclOperationTypes.WRITE),
    ] });

    const ssl = `127.0.0.1:${b.broker.listenerPort("SSL")}`;
    const mtls = ["-b", ssl, "-X", "security.protocol=ssl", "-X", `ssl.ca.location=${certs.caCert}`, "-X", `ssl.certificate.location=${certs.clientCert}`, "-X", `ssl.key.location=${certs.clientKey}`];
    const ok = await runProc("kcat", ["-P", ...mtls, "-t", "m-write", "-K", ":", "-X", "acks=all"], { input: "a:1\nb:2\n", timeoutMs: 60_000 });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await admin.fetchTopicOffsets("m-write"))[0].high, "2", "alice wrote to m-write");

    const refused = await runProc("kcat", ["-P", ...mtls, "-t", "m-read", "-X", "acks=all", "-X", "message.timeout.ms=10000"], { input: "x\n", timeoutMs: 60_000 });
    assert.match(refused.stderr, /Topic authorization failed/i, `stdout ${refused.stdout} stderr ${refused.stderr}`);
    assert.equal((await admin.fetchTopicOffsets("m-read"))[0].high, "2", "nothing was written to m-read");

    const consumed = await runProc("kcat", [...mtls, "-G", "m-g", "-c", "2", "-f", "%k=%s\n", "-X", "auto.offset.reset=earliest", "m-read"], { timeoutMs: 60_000 });
    assert.equal(consumed.code, 0, consumed.stderr);
    assert.deepEqual(consumed.stdout.split("\n").filter((l) => l !== "").sort(), ["k1=v1", "k2=v2"]);

    const md = await runProc("kcat", ["-L", ...mtls, "-J"], { timeoutMs: 30_000 });
    assert.equal(md.code, 0, md.stderr);
    assert.deepEqual(JSON.parse(md.stdout).topics.map((t: { topic: string }) => t.topic).sort(), ["m-read", "m-write"], "m-hidden is not described to alice");

    const otherGroup = await runProc("kcat", [...mtls, "-G", "other-g", "-c", "1", "-X", "auto.offset.reset=earliest", "m-read"], { timeoutMs: 20_000 });
    assert.match(otherGroup.stderr, /Group authorization failed/i, `stdout ${otherGroup.stdout} stderr ${otherGroup.stderr}`);
  } finally {
    await admin.disconnect();
    await secure.stop();
  }
});
