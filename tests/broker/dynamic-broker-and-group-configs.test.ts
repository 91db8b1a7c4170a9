/**
 * Dynamic broker configs (KIP-226) and group configs: IncrementalAlterConfigs on this broker and on the cluster
 * default is accepted, reported with DYNAMIC_BROKER_CONFIG / DYNAMIC_DEFAULT_BROKER_CONFIG, applied live to the
 * topics' effective configs and partition logs, kept in the metadata store across a restart; static keys are
 * refused; group configs are validated, described with DYNAMIC_GROUP_CONFIG and kept too.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { IN_PROCESS } from "../support/group-state.ts";
import { RawClient } from "../support/raw-client.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();

const TOPIC = 2, BROKER = 4, GROUP = 32;
const SET = 0, DELETE = 1;

async function alter(c: RawClient, resourceType: number, resourceName: string, configs: { name: string; configOperation: number; value: string | null }[]) {
  const r = await c.request(44, 1, { resources: [{ resourceType, resourceName, configs }], validateOnly: false });
  return r.responses[0];
}

async function describe(c: RawClient, resourceType: number, resourceName: string, keys: string[]) {
  const r = await c.request(32, 4, { resources: [{ resourceType, resourceName, configurationKeys: keys }], includeSynonyms: true, includeDocumentation: false });
  return r.results[0];
}

test("dynamic broker configs: per-broker and cluster default, live on topics, kept across a restart; static keys refused", async () => {
  let b = await startTestBroker({ "node.id": "1" });
  const dir = b.dir;
  let c = await RawClient.connect(b.port);
  try {
    await c.request(19, 7, { topics: [{ name: "dyn", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    assert.equal((await alter(c, BROKER, "", [{ name: "log.retention.ms", configOperation: SET, value: "3600000" }])).errorCode, 0);
    assert.equal((await alter(c, BROKER, "1", [{ name: "message.max.bytes", configOperation: SET, value: "2000000" }])).errorCode, 0);
    const refused = await alter(c, BROKER, "1", [{ name: "log.dirs", configOperation: SET, value: "/elsewhere" }]);
    assert.equal(refused.errorCode, 42, "a static key cannot change at run time");
    assert.equal((await alter(c, BROKER, "7", [{ name: "log.cleaner.threads", configOperation: SET, value: "2" }])).errorCode, 42, "another broker id is refused");

    const topic = await describe(c, TOPIC, "dyn", ["retention.ms", "max.message.bytes"]);
    const retention = topic.configs.find((e: any) => e.name === "retention.ms");
    assert.equal(retention.value, "3600000");
    assert.equal(retention.configSource, 3, "DYNAMIC_DEFAULT_BROKER_CONFIG");
    // Applied live to the partition log: read from an in-process broker; on a sharded node the third test shows a
    // cluster-default retention acting on a partition's log.
    if (IN_PROCESS) assert.equal(b.broker.topicsByName.get("dyn")!.partitions[0].log.config.retentionMs, 3600000, "applied live to the partition log");
    const broker = await describe(c, BROKER, "1", ["message.max.bytes"]);
    assert.deepEqual(broker.configs[0].synonyms.map((s: any) => [s.value, s.source]), [["2000000", 2], ["1048588", 5]]);
    assert.equal(broker.configs[0].readOnly, false);
    // Live in the broker's settings (every shard's, on a sharded node): a 1.5 MB batch, over the static 1048588, is
    // taken by the topic, whose max.message.bytes follows message.max.bytes.
    const big = new BatchBuilder(2 << 20);
    big.reset({});
    big.append(Date.now(), null, new Uint8Array(1_500_000));
    const produced = await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: "dyn", partitionData: [{ index: 0, records: big.finish() }] }] });
    assert.equal(produced.responses[0].partitionResponses[0].errorCode, 0, "live in the broker's settings: a 1.5 MB batch is taken");
    const clusterDefault = await describe(c, BROKER, "", ["log.retention.ms", "message.max.bytes"]);
    assert.deepEqual(clusterDefault.configs.map((e: any) => [e.name, e.value, e.configSource]), [["log.retention.ms", "3600000", 3]]);

    c.close();
    await b.stop({ keepDir: true });
    b = await startTestBroker({ "node.id": "1" }, dir);
    c = await RawClient.connect(b.port);
    const after = await describe(c, TOPIC, "dyn", ["retention.ms"]);
    assert.equal(after.configs[0].value, "3600000", "kept in the metadata store across a restart");
    if (IN_PROCESS) assert.equal(b.broker.topicsByName.get("dyn")!.partitions[0].log.config.retentionMs, 3600000);
    assert.equal((await alter(c, BROKER, "", [{ name: "log.retention.ms", configOperation: DELETE, value: null }])).errorCode, 0);
    assert.equal((await describe(c, TOPIC, "dyn", ["retention.ms"])).configs[0].value, "604800000", "back to the default once removed");
  } finally {
    c.close();
    await b.stop();
  }
});

test("group configs: set, validated against the broker's bounds, described with their source, kept across a restart", async () => {
  let b = await startTestBroker();
  const dir = b.dir;
  let c = await RawClient.connect(b.port);
  try {
    assert.equal((await alter(c, GROUP, "g1", [{ name: "consumer.session.timeout.ms", configOperation: SET, value: "50000" }])).errorCode, 0);
    assert.equal((await alter(c, GROUP, "g1", [{ name: "consumer.session.timeout.ms", configOperation: SET, value: "1" }])).errorCode, 40, "below group.consumer.min.session.timeout.ms");
    assert.equal((await alter(c, GROUP, "g1", [{ name: "no.such.group.config", configOperation: SET, value: "1" }])).errorCode, 40);
    assert.equal((await alter(c, GROUP, "", [{ name: "consumer.session.timeout.ms", configOperation: SET, value: "50000" }])).errorCode, 42);
    c.close();
    await b.stop({ keepDir: true });
    b = await startTestBroker({}, dir);
    c = await RawClient.connect(b.port);
    const d = await describe(c, GROUP, "g1", ["consumer.session.timeout.ms", "consumer.heartbeat.interval.ms"]);
    const session = d.configs.find((e: any) => e.name === "consumer.session.timeout.ms");
    assert.deepEqual([session.value, session.configSource], ["50000", 8]);
    const heartbeat = d.configs.find((e: any) => e.name === "consumer.heartbeat.interval.ms");
    assert.deepEqual([heartbeat.value, heartbeat.configSource, heartbeat.synonyms[0].name], ["5000", 5, "group.consumer.heartbeat.interval.ms"]);
  } finally {
    c.close();
    await b.stop();
  }
});

test("a lower cluster-default log.retention.ms deletes old segments of a topic without a retention override, live", async () => {
  const b = await startTestBroker({ "node.id": "1", "log.retention.check.interval.ms": "100" });
  const c = await RawClient.connect(b.port);
  try {
    // segment.ms=1 rolls a segment at each append after the first: every produce below gets its own segment.
    const created = await c.request(19, 7, { topics: [{ name: "aging", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: "segment.ms", value: "1" }] }], timeoutMs: 1000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, 0);
    const hourAgo = Date.now() - 3_600_000;
    for (let i = 0; i < 3; i++) {
      const bb = new BatchBuilder(1 << 16);
      bb.reset({});
      bb.append(hourAgo + i, new TextEncoder().encode(`k${i}`), new TextEncoder().encode(`an hour old ${i}`));
      const r = await c.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: "aging", partitionData: [{ index: 0, records: bb.finish() }] }] });
      assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
      await new Promise((res) => setTimeout(res, 5));
    }
    const earliest = async () => {
      const r = await c.request(2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: "aging", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n }] }] });
      return r.topics[0].partitions[0].offset as bigint;
    };
    assert.equal(await earliest(), 0n, "kept under the default retention of 7 days");
    assert.equal((await alter(c, BROKER, "", [{ name: "log.retention.ms", configOperation: SET, value: "600000" }])).errorCode, 0);
    const deadline = Date.now() + 30_000;
    while ((await earliest()) === 0n) {
      assert.ok(Date.now() < deadline, "retention of ten minutes never deleted the hour-old segments");
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.ok((await earliest()) >= 2n, "the sealed hour-old segments are gone");
  } finally {
    c.close();
    await b.stop();
  }
});

test("dynamic log.cleaner.* broker configs reach the running cleaner: a smaller dedupe buffer sizes its next pass", async () => {
  const b = await startTestBroker({ "node.id": "1" });
  const c = await RawClient.connect(b.port);
  try {
    // The running cleaner is an in-process broker's; a sharded node's settings are checked by DescribeConfigs only.
    const cleaner = IN_PROCESS ? b.broker.logCleaner! : null;
    const before = cleaner?.dedupeMaxKeys;
    const r = await alter(c, BROKER, "", [
      { name: "log.cleaner.dedupe.buffer.size", configOperation: SET, value: String(1 << 20) },
      { name: "log.cleaner.io.max.bytes.per.second", configOperation: SET, value: "1048576" },
      { name: "log.cleaner.backoff.ms", configOperation: SET, value: "1000" },
    ]);
    assert.equal(r.errorCode, 0, r.errorMessage);
    if (cleaner !== null) assert.ok(cleaner.dedupeMaxKeys < before!, `${cleaner.dedupeMaxKeys} keys, was ${before}`);
    const d = await describe(c, BROKER, "", ["log.cleaner.io.max.bytes.per.second"]);
    assert.deepEqual(d.configs.map((e: any) => [e.value, e.configSource]), [["1048576", 3]]);
  } finally {
    c.close();
    await b.stop();
  }
});

test("broker keys that supply topic defaults are broker configs: listed with Kafka's defaults, and with it as a synonym once set", async () => {
  const b = await startTestBroker({ "node.id": "1" });
  const c = await RawClient.connect(b.port);
  try {
    // Kafka 4.4's defaults (found by tests/oracle/restart-admin-random-match-kafka, which compares these answers)
    const keys = ["log.cleaner.delete.retention.ms", "log.cleaner.min.cleanable.ratio", "log.cleaner.min.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms"];
    const before = await describe(c, BROKER, "1", keys);
    assert.deepEqual(
      before.configs.map((e: any) => [e.name, e.value, e.configSource, e.readOnly]).sort(),
      [["log.cleaner.delete.retention.ms", "86400000", 5, false], ["log.cleaner.max.compaction.lag.ms", "9223372036854775807", 5, false], ["log.cleaner.min.cleanable.ratio", "0.5", 5, false], ["log.cleaner.min.compaction.lag.ms", "0", 5, false]],
    );
    assert.equal((await alter(c, BROKER, "1", [{ name: "log.cleaner.min.cleanable.ratio", configOperation: SET, value: "0.3" }])).errorCode, 0);
    const set = await describe(c, BROKER, "1", ["log.cleaner.min.cleanable.ratio"]);
    assert.deepEqual(set.configs.map((e: any) => [e.value, e.configSource, e.configType, e.synonyms.map((s: any) => [s.value, s.source])]), [["0.3", 2, 6, [["0.3", 2], ["0.5", 5]]]]);
  } finally {
    c.close();
    await b.stop();
  }
});
