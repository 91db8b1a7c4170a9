/**
 * Inter-broker traffic over SASL_SSL: the follower's connection options come from its config
 * (`inter.broker.listener.name=BROKER`, SASL_SSL with SCRAM-SHA-512 from `sasl.mechanism.inter.broker.protocol`
 * and the listener's JAAS username/password, TLS trusting the listener's truststore); its ReplicaFetcher replicates
 * a partition from a leader that enforces ACLs (the broker principal is a super user; a client without
 * CLUSTER_ACTION cannot fetch as a replica), acks=all completes through it and the logs end byte for byte equal.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Broker } from "../../src/broker/broker.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { LocalMetadataStore } from "../../src/cluster/metadata-store.ts";
import { BrokerConnection } from "../../src/client/connection.ts";
import { systemClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { Partition } from "../../src/partition/partition.ts";
import { ReplicaFetcher } from "../../src/replication/replica-fetcher.ts";
import { interBrokerSecurity } from "../../src/security/inter-broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { testLogger } from "../support/broker.ts";
import { makeRecordsBatch, recordingLogger } from "../storage/batch-fixture.ts";
import { certSkip, makeTestCerts } from "./test-certs.ts";
import { upsertScramUser } from "./scram-client.ts";

test("a follower replicates over SASL_SSL with the inter-broker settings of its config", { skip: certSkip, timeout: 90_000 }, async () => {
  const certs = makeTestCerts();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-sasl-repl-"));
  fs.mkdirSync(`${dir}/leader`);
  const security = (nodeId: number) => new Map([
    ["node.id", String(nodeId)],
    ["listeners", "PLAINTEXT://127.0.0.1:0,BROKER://127.0.0.1:0"],
    ["listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,BROKER:SASL_SSL"],
    ["inter.broker.listener.name", "BROKER"],
    ["sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-512"],
    ["listener.name.broker.sasl.enabled.mechanisms", "SCRAM-SHA-512"],
    ["listener.name.broker.scram-sha-512.sasl.jaas.config", 'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-pw";'],
    ["ssl.keystore.location", certs.serverKeystore],
    ["ssl.truststore.location", certs.caCert],
    ["authorizer.class.name", "runnel"],
    ["super.users", "User:broker;User:ANONYMOUS"],
    ["log.dirs", `${dir}/leader`],
  ]);
  const store = new LocalMetadataStore(nodeFileSystem, `${dir}/leader`);
  const leader = await Broker.start(new BrokerConfig(security(1)), { metadata: store, logger: testLogger() });
  const c = await RawClient.connect(leader.port);
  let fetcher: ReplicaFetcher | null = null;
  let channel: BrokerConnection | null = null;
  try {
    assert.equal(await upsertScramUser(c, "broker", "broker-pw", "SCRAM-SHA-512"), 0);
    assert.equal(await upsertScramUser(c, "mallory", "mallory-pw", "SCRAM-SHA-512"), 0);
    const topic = (await leader.createTopic("srep", 1, 1, {}, false))!;
    const s0 = store.partitionState("srep", 0)!;
    const roles = { leader: 1, leaderEpoch: 1, replicas: [1, 2], isr: [1, 2] };
    assert.equal(await store.compareAndSetPartition({ ...s0, ...roles, partitionEpoch: 1 }, 0), true);

    const followerConfig = new BrokerConfig(security(2));
    const sec = interBrokerSecurity(followerConfig, nodeFileSystem);
    assert.equal(sec.listenerName, "BROKER");
    assert.equal(sec.sasl?.mechanism, "SCRAM-SHA-512");
    const leaderPort = leader.listenerPort("BROKER");

    // A principal without CLUSTER_ACTION may not fetch as a replica.
    const intruder = await BrokerConnection.open("127.0.0.1", leaderPort, 1, { clientId: "replica-9", tls: sec.tls, sasl: { mechanism: "SCRAM-SHA-512", username: "mallory", password: "mallory-pw" } });
    const denied = await intruder.request<{ errorCode: number; responses: Array<{ partitions: Array<{ errorCode: number }> }> }>(1, {
      replicaState: { replicaId: 9, replicaEpoch: -1n }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: "srep", topicId: topic.id, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: "",
    });
    assert.equal(denied.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    intruder.close();

    const logger = recordingLogger();
    const log = PartitionLog.open(`${dir}/follower/srep-0`, { topic: "srep", partition: 0 }, logConfigWith({}), { fs: nodeFileSystem, clock: systemClock, logger });
    const follower = Partition.open({ name: "srep" }, 0, log, { fs: nodeFileSystem, clock: systemClock, logger, localBrokerId: 2 }, roles);
    channel = await BrokerConnection.open("127.0.0.1", leaderPort, 1, { clientId: "replica-2", tls: sec.tls, sasl: sec.sasl });
    const warnings: string[] = [];
    fetcher = new ReplicaFetcher({ replicaId: 2, brokerEpoch: -1n, channel, clock: systemClock, warn: (m) => warnings.push(m), settings: { maxWaitMs: 200, backoffMs: 50 } });
    fetcher.add(topic.id, follower);
    fetcher.start();
    for (let i = 0; i < 3; i++) {
      const r = await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: "srep", partitionData: [{ index: 0, records: makeRecordsBatch(10, Date.now()) }] }] });
      assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE, "acks=all is answered once the follower has the batch");
    }
    const lp = leader.partition("srep", 0)!;
    for (let i = 0; i < 500 && follower.highWatermark < 30n; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(follower.highWatermark, 30n);
    assert.deepEqual(Buffer.concat(follower.log.read(0n, 1 << 22, true).chunks), Buffer.concat(lp.log.read(0n, 1 << 22, true).chunks));
    assert.deepEqual(warnings, []);
  } finally {
    await fetcher?.stop();
    channel?.close();
    c.close();
    await leader.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    certs.remove();
  }
});
