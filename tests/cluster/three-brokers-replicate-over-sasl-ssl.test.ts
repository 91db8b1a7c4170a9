/**
 * Three `runnel start` processes on one etcd, each with a PLAINTEXT client listener and a SASL_SSL REPLICATION
 * listener (SCRAM-SHA-512, PEM keystore/truststore made by openssl) named as `inter.broker.listener.name`, with the
 * authorizer on and the inter-broker user `broker` a super user:
 * - an RF=3 min.insync.replicas=2 topic takes acks=all records from kafkajs, kcat reads them all back, and every
 *   partition's `.log` files end byte-identical in the three data dirs;
 * - every leader logs that it authenticated `User:broker` on REPLICATION with SCRAM-SHA-512 (followers fetch there);
 * - a DENY ACL created through broker 1 makes broker 3 answer TOPIC_AUTHORIZATION_FAILED;
 * - with a wrong inter-broker password the leader logs failed logins on REPLICATION and acks=all answers
 *   NOT_ENOUGH_REPLICAS (the followers have no other way in).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON, TestEtcd } from "../support/etcd.ts";
import { until } from "../support/cluster-processes.ts";
import { startBrokerProcess, type BrokerProcess } from "../support/broker-process.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { RawClient } from "../support/raw-client.ts";
import { makeRecordsBatch } from "../storage/batch-fixture.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { certSkip, makeTestCerts, type TestCerts } from "../security/test-certs.ts";
import { upsertScramUser } from "../security/scram-client.ts";
import { partitionLogBytes } from "../support/segment-batches.ts";

await initCrc32c();

const skip = ETCD_SKIP_REASON || certSkip || (haveCommand("kcat") ? false : "SKIPPED: no kcat (bash tests/setup.d/*kcat*.sh)");
const TOPIC = "replicated-sasl";
const PARTITIONS = 3;
const RECORDS = 3_000;


/** `runnel start` arguments: PLAINTEXT for clients, SASL_SSL SCRAM-SHA-512 REPLICATION between brokers, authorizer on. */
function saslClusterArgs(id: number, dataDir: string, etcd: TestEtcd, certs: TestCerts, interBrokerPassword: string, extra: string[] = []): string[] {
  return [
    "--listeners", "PLAINTEXT://127.0.0.1:0,REPLICATION://127.0.0.1:0", "--data-dir", dataDir,
    "-o", `node.id=${id}`, "-o", `metadata.etcd.endpoints=${etcd.endpoint}`,
    "-o", "replica.fetch.wait.max.ms=100", "-o", "replica.fetch.backoff.ms=100",
    "-o", "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,REPLICATION:SASL_SSL",
    "-o", "inter.broker.listener.name=REPLICATION",
    "-o", "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
    "-o", "listener.name.replication.sasl.enabled.mechanisms=SCRAM-SHA-512",
    "-o", `listener.name.replication.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="${interBrokerPassword}";`,
    "-o", `ssl.keystore.location=${certs.serverKeystore}`, "-o", `ssl.truststore.location=${certs.caCert}`,
    "-o", "authorizer.class.name=runnel", "-o", "super.users=User:broker", "-o", "allow.everyone.if.no.acl.found=true",
    ...extra,
  ];
}

test("three brokers replicate over a SASL_SSL SCRAM-SHA-512 inter-broker listener and enforce ACLs made on another broker", { skip, timeout: 300_000 }, async () => {
  const certs = makeTestCerts();
  const etcd = await TestEtcd.start();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-3brokers-sasl-"));
  const dataDirs = [1, 2, 3].map((id) => path.join(base, `b${id}`));
  const brokers: BrokerProcess[] = [];
  try {
    for (const id of [1, 2, 3]) brokers.push(await startBrokerProcess("bun", saslClusterArgs(id, dataDirs[id - 1], etcd, certs, "broker-pw"), 90_000));
    const replicationPorts = brokers.map((b) => Number(/REPLICATION:\/\/127\.0\.0\.1:(\d+)/.exec(b.log())![1]));

    // the inter-broker user's SCRAM credential goes to etcd through broker 1, before any replica has to fetch
    const raw1 = await RawClient.connect(brokers[0].port);
    assert.equal(await upsertScramUser(raw1, "broker", "broker-pw", "SCRAM-SHA-512"), 0);
    raw1.close();

    const kafka = new Kafka({ clientId: "sasl-cluster", brokers: [brokers[0].bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }] });
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      for (let i = 0; i < RECORDS; i += 500) {
        await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 500 }, (_, j) => ({ value: `v${i + j}`, partition: (i + j) % PARTITIONS })) });
      }
      await producer.disconnect();
      await until("every partition's ISR to hold all three brokers", 60_000, async () =>
        (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions.every((p) => [...p.isr].sort().join() === "1,2,3"));
      const leaders = new Set((await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions.map((p) => p.leader));

      // followers fetched from each leader over its SASL_SSL listener, as the inter-broker SCRAM user
      for (const id of leaders) {
        const followers = [1, 2, 3].filter((x) => x !== id);
        await until(`broker ${id} to log its followers' SCRAM logins on REPLICATION`, 30_000, () => {
          const lines = brokers[id - 1].log().split("\n").filter((l) => /authenticated User:broker from .* on REPLICATION with SCRAM-SHA-512/.test(l));
          return lines.length >= followers.length;
        });
        assert.doesNotMatch(brokers[id - 1].log(), /Failed authentication/);
      }
      assert.equal(new Set(replicationPorts).size, 3);
    } finally {
      await admin.disconnect();
    }

    const kc = await runProc("kcat", ["-C", "-b", brokers.map((b) => b.bootstrap).join(","), "-t", TOPIC, "-o", "beginning", "-e", "-q", "-f", "%s\\n"], { timeoutMs: 120_000 });
    assert.equal(kc.code, 0, kc.stderr);
    const values = kc.stdout.split("\n").filter((l) => l.length > 0);
    assert.equal(values.length, RECORDS);
    assert.equal(new Set(values).size, RECORDS);

    for (let p = 0; p < PARTITIONS; p++) {
      await until(`replicas of partition ${p} to be byte-identical`, 60_000, () => {
        const [a, b, c] = dataDirs.map((d) => partitionLogBytes(d, TOPIC, p));
        return a.length > 0 && a.equals(b) && a.equals(c);
      });
    }

    // an ACL created through broker 1 is enforced by broker 3
    const produceAt3 = async () => {
      const raw3 = await RawClient.connect(brokers[2].port);
      try {
        const r = await raw3.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 10_000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: makeRecordsBatch(1, Date.now()) }] }] });
        return r.responses[0].partitionResponses[0].errorCode as number;
      } finally {
        raw3.close();
      }
    };
    assert.notEqual(await produceAt3(), 29, "no ACL yet: broker 3 does not refuse the write");
    const aclAdmin = new Kafka({ clientId: "acl", brokers: [brokers[0].bootstrap], logLevel: logLevel.NOTHING }).admin();
    await aclAdmin.connect();
    // resourceType TOPIC=2, patternType LITERAL=3, operation WRITE=4, permission DENY=2
    await aclAdmin.createAcls({ acl: [{ resourceType: 2, resourceName: TOPIC, resourcePatternType: 3, principal: "User:ANONYMOUS", host: "*", operation: 4, permissionType: 2 }] as never });
    await aclAdmin.disconnect();
    await until("broker 3 to refuse the write with TOPIC_AUTHORIZATION_FAILED", 10_000, async () => (await produceAt3()) === 29);
  } finally {
    for (const b of brokers) await b.stop("SIGKILL");
    await etcd.close();
    fs.rmSync(base, { recursive: true, force: true });
    certs.remove();
  }
});

test("with a wrong inter-broker password the leader refuses the followers' SCRAM logins and acks=all answers NOT_ENOUGH_REPLICAS", { skip, timeout: 180_000 }, async () => {
  const certs = makeTestCerts();
  const etcd = await TestEtcd.start();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-3brokers-badpw-"));
  const brokers: BrokerProcess[] = [];
  try {
    for (const id of [1, 2, 3]) {
      brokers.push(await startBrokerProcess("bun", saslClusterArgs(id, path.join(base, `b${id}`), etcd, certs, "not-the-password", ["-o", "replica.lag.time.max.ms=1000"]), 90_000));
    }
    const raw1 = await RawClient.connect(brokers[0].port);
    assert.equal(await upsertScramUser(raw1, "broker", "broker-pw", "SCRAM-SHA-512"), 0);
    raw1.close();
    const admin = new Kafka({ clientId: "badpw", brokers: [brokers[0].bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: "badpw", numPartitions: 1, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }] });
    const leader = (await admin.fetchTopicMetadata({ topics: ["badpw"] })).topics[0].partitions[0].leader;
    await admin.disconnect();
    const raw = await RawClient.connect(brokers[leader - 1].port);
    try {
      await until("acks=all to answer NOT_ENOUGH_REPLICAS", 60_000, async () => {
        const r = await raw.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 2_000, topicData: [{ name: "badpw", partitionData: [{ index: 0, records: makeRecordsBatch(1, Date.now()) }] }] });
        return r.responses[0].partitionResponses[0].errorCode === 19;
      });
    } finally {
      raw.close();
    }
    assert.match(brokers[leader - 1].log(), /Failed authentication with .* on listener REPLICATION/);
    assert.doesNotMatch(brokers[leader - 1].log(), /authenticated User:broker/);
  } finally {
    for (const b of brokers) await b.stop("SIGKILL");
    await etcd.close();
    fs.rmSync(base, { recursive: true, force: true });
    certs.remove();
  }
});
