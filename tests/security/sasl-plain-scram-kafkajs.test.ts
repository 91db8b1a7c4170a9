/**
 * SASL on a SASL_PLAINTEXT and a SASL_SSL listener with kafkajs (PLAIN and SCRAM-SHA-256 over TLS, produce and a
 * consumer group round trip), SCRAM users made with AlterUserScramCredentials and listed by
 * DescribeUserScramCredentials, and the attacks: wrong password, unknown user, unsupported mechanism, a request
 * before authentication, a tampered and a replayed SCRAM proof. Each failure is answered with Kafka's error and
 * closes only that connection; no password reaches the log or DescribeConfigs.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { Kafka, logLevel } from "kafkajs";
import type { TestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { certSkip, startSecureBroker, type SecureBroker, type TestCerts } from "./test-certs.ts";
import { ScramExchange, SCRAM_ID } from "./scram-client.ts";

const PLAIN_JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret-1" user_bob="bob-secret-2";';
const SCRAM_PASSWORD = "carol-scram-pw-3";
let b: TestBroker;
let certs: TestCerts;
let secure: SecureBroker;
let logLines: string[];

before(async () => {
  if (certSkip) return;
  secure = await startSecureBroker((c) => ({
    listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
    "ssl.keystore.location": c.serverKeystore,
    "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
    "listener.name.sasl_ssl.plain.sasl.jaas.config": PLAIN_JAAS,
    "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
    "listener.name.sasl_ssl.sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256",
  }), [["carol", SCRAM_PASSWORD, "SCRAM-SHA-256"], ["carol", SCRAM_PASSWORD, "SCRAM-SHA-512", 8192]]);
  ({ broker: b, certs, logLines } = secure);
});

after(() => secure?.stop());

const port = (name: string) => b.broker.listenerPort(name);

async function roundTrip(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `${topic}-group` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Set<string>();
  await new Promise<void>((resolve, reject) => {
    consumer.run({ eachMessage: async ({ message }) => {
      seen.add(message.value!.toString());
      if (seen.size === 20) resolve();
    } }).catch(reject);
  });
  await consumer.disconnect();
  assert.equal(seen.size, 20);
}

test("kafkajs: SASL PLAIN over TLS and over plaintext, produce and consume in a group", { skip: certSkip, timeout: 120_000 }, async () => {
  const tls = new Kafka({ clientId: "plain-tls", brokers: [`127.0.0.1:${port("SASL_SSL")}`], ssl: { ca: [fs.readFileSync(certs.caCert, "utf8")] }, sasl: { mechanism: "plain", username: "alice", password: "alice-secret-1" }, logLevel: logLevel.NOTHING });
  await roundTrip(tls, "plain-tls");
  const plain = new Kafka({ clientId: "plain", brokers: [`127.0.0.1:${port("SASL_PLAINTEXT")}`], sasl: { mechanism: "plain", username: "bob", password: "bob-secret-2" }, logLevel: logLevel.NOTHING });
  await roundTrip(plain, "plain-plaintext");
});

test("kafkajs: SCRAM-SHA-256 over TLS with a user made by AlterUserScramCredentials", { skip: certSkip, timeout: 120_000 }, async () => {
  const kafka = new Kafka({ clientId: "scram-tls", brokers: [`127.0.0.1:${port("SASL_SSL")}`], ssl: { ca: [fs.readFileSync(certs.caCert, "utf8")] }, sasl: { mechanism: "scram-sha-256", username: "carol", password: SCRAM_PASSWORD }, logLevel: logLevel.NOTHING });
  await roundTrip(kafka, "scram-tls");
});

test("kafkajs: a wrong password or an unknown user fails with SASL_AUTHENTICATION_FAILED", { skip: certSkip, timeout: 120_000 }, async () => {
  for (const [mechanism, username, password] of [["plain", "alice", "nope"], ["plain", "nobody", "x"], ["scram-sha-256", "carol", "wrong"], ["scram-sha-256", "nobody", "x"]] as const) {
    const kafka = new Kafka({ clientId: "bad", brokers: [`127.0.0.1:${port("SASL_SSL")}`], ssl: { ca: [fs.readFileSync(certs.caCert, "utf8")] }, sasl: { mechanism, username, password } as never, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const admin = kafka.admin();
    await assert.rejects(admin.connect(), (e: Error & { type?: string }) => {
      assert.match(`${e.name} ${e.message} ${e.type}`, /SASL_AUTHENTICATION_FAILED|SASL .*authentication failed/i, `${mechanism} ${username}: ${e.name} ${e.message}`);
      return true;
    });
    await admin.disconnect();
  }
});

test("SASL handshake: unsupported mechanism, request before auth, tampered and replayed SCRAM proofs; others unaffected", { skip: certSkip, timeout: 120_000 }, async () => {
  const bystander = await RawClient.connect(port("SASL_PLAINTEXT"));
  assert.equal((await bystander.request(17, 1, { mechanism: "PLAIN" })).errorCode, 0);
  assert.equal((await bystander.request(36, 2, { authBytes: Buffer.from("\0alice\0alice-secret-1") })).errorCode, 0);

  // Unsupported mechanism: UNSUPPORTED_SASL_MECHANISM with the enabled list, then closed.
  const c1 = await RawClient.connect(port("SASL_PLAINTEXT"));
  const h = await c1.request(17, 1, { mechanism: "GSSAPI" });
  assert.equal(h.errorCode, 33);
  assert.deepEqual(h.mechanisms, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
  await c1.closed;

  // Anything but ApiVersions and the SASL APIs before authentication closes the connection.
  const c2 = await RawClient.connect(port("SASL_PLAINTEXT"));
  assert.equal((await c2.request(18, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" })).errorCode, 0);
  await assert.rejects(c2.request(3, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }), /connection closed/);

  // A tampered proof: SASL_AUTHENTICATION_FAILED, then closed.
  const c3 = await RawClient.connect(port("SASL_PLAINTEXT"));
  assert.equal((await c3.request(17, 1, { mechanism: "SCRAM-SHA-512" })).errorCode, 0);
  const ex = new ScramExchange("SCRAM-SHA-512", "carol", SCRAM_PASSWORD);
  const first = await c3.request(36, 2, { authBytes: ex.first() });
  assert.equal(first.errorCode, 0);
  const serverFirst = Buffer.from(first.authBytes).toString();
  assert.match(serverFirst, /,i=8192$/);
  const good = ex.final(serverFirst);
  const tampered = Buffer.from(good);
  tampered[tampered.length - 5] ^= 1;
  const bad = await c3.request(36, 2, { authBytes: tampered });
  assert.equal(bad.errorCode, 58);
  await c3.closed;

  // The untampered final message replayed on a new connection: the server's nonce differs, so it fails.
  const c4 = await RawClient.connect(port("SASL_PLAINTEXT"));
  assert.equal((await c4.request(17, 1, { mechanism: "SCRAM-SHA-512" })).errorCode, 0);
  const ex2 = new ScramExchange("SCRAM-SHA-512", "carol", SCRAM_PASSWORD);
  assert.equal((await c4.request(36, 2, { authBytes: ex2.first() })).errorCode, 0);
  const replay = await c4.request(36, 2, { authBytes: good });
  assert.equal(replay.errorCode, 58);
  await c4.closed;

  // The same exchange done properly succeeds and proves the server knows the key (v=...).
  const c5 = await RawClient.connect(port("SASL_PLAINTEXT"));
  assert.equal((await c5.request(17, 1, { mechanism: "SCRAM-SHA-512" })).errorCode, 0);
  const ex3 = new ScramExchange("SCRAM-SHA-512", "carol", SCRAM_PASSWORD);
  const f3 = await c5.request(36, 2, { authBytes: ex3.first() });
  const done = await c5.request(36, 2, { authBytes: ex3.final(Buffer.from(f3.authBytes).toString()) });
  assert.equal(done.errorCode, 0);
  assert.match(Buffer.from(done.authBytes).toString(), /^v=/);
  assert.equal((await c5.request(3, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).brokers[0].port, port("SASL_PLAINTEXT"));
  c5.close();

  // The bystander authenticated earlier is still served.
  const md = await bystander.request(3, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  assert.equal(md.brokers[0].port, port("SASL_PLAINTEXT"));
  bystander.close();

  const failures = logLines.filter((l) => l.includes("Failed authentication"));
  assert.ok(failures.some((l) => l.includes("unsupported SASL mechanism GSSAPI")));
  assert.ok(failures.some((l) => l.includes("nonce differs")));
  for (const secret of ["alice-secret-1", "bob-secret-2", SCRAM_PASSWORD]) assert.ok(!logLines.some((l) => l.includes(secret)), `${secret} in the log`);
});

test("SCRAM credentials: described by mechanism and iterations, bad upserts refused with Kafka's codes", { skip: certSkip, timeout: 120_000 }, async () => {
  const c = await RawClient.connect(b.port);
  const all = await c.request(50, 0, { users: null });
  assert.deepEqual(all.results.map((r: { user: string; credentialInfos: unknown[] }) => [r.user, r.credentialInfos]), [["carol", [{ mechanism: SCRAM_ID["SCRAM-SHA-256"], iterations: 4096 }, { mechanism: SCRAM_ID["SCRAM-SHA-512"], iterations: 8192 }]]]);
  const missing = await c.request(50, 0, { users: [{ name: "nobody" }] });
  assert.equal(missing.results[0].errorCode, 91);
  const alter = await c.request(51, 0, {
    deletions: [{ name: "nobody", mechanism: 1 }],
    upsertions: [
      { name: "weak", mechanism: 1, iterations: 100, salt: Buffer.from("s"), saltedPassword: Buffer.alloc(32, 1) },
      { name: "odd", mechanism: 9, iterations: 4096, salt: Buffer.from("s"), saltedPassword: Buffer.alloc(32, 1) },
    ],
  });
  assert.deepEqual(alter.results.map((r: { user: string; errorCode: number }) => [r.user, r.errorCode]), [["nobody", 91], ["weak", 93], ["odd", 33]]);
  c.close();
});

test("DescribeConfigs answers the JAAS config as sensitive with a null value", { skip: certSkip, timeout: 120_000 }, async () => {
  const kafka = new Kafka({ clientId: "cfg", brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const res = await admin.describeConfigs({ resources: [{ type: 4, name: String(b.broker.nodeId), configNames: ["sasl.jaas.config", "ssl.key.password"] }], includeSynonyms: false });
  await admin.disconnect();
  const entries = res.resources[0].configEntries;
  assert.ok(entries.length >= 1);
  for (const e of entries) {
    assert.equal(e.isSensitive, true, e.configName);
    assert.equal(e.configValue, null, e.configName);
  }
});
