/**
 * Differential: ApiVersions, Metadata (unknown topics and topic ids, authorized operations), CreateTopics with
 * every validation error, DescribeConfigs (defaults, sources, types, synonyms) for topics, brokers and groups,
 * AlterConfigs / IncrementalAlterConfigs (errors, dynamic broker configs, group configs), CreatePartitions with bad
 * counts, DeleteRecords and ListOffsets for every timestamp kind, DescribeTopicPartitions (cursor pages, unknown
 * topics): Runnel answers as Apache Kafka does, field by field, at every version both serve.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertSame, oracleSuite } from "./differential.ts";
import { batch, createTopic, initProducer, produce } from "./scenario-helpers.ts";

const TOPIC = 2;
const BROKER = 4;
const GROUP = 32;

oracleSuite("admin APIs match Apache Kafka", (pair) => {
  test("ApiVersions: every API Runnel serves is within Kafka's version range; errors match at every version", async () => {
    const p = await pair();
    const kafkaKeys = new Map<number, [number, number]>();
    const diffs = await p.compare("ApiVersions", async (s) => {
      const out: Record<string, unknown> = {};
      for (const v of p.versions(18)) {
        const r = await s.client.request(18, v, { clientSoftwareName: "oracle", clientSoftwareVersion: "1.0" });
        if (s.name === "kafka") for (const k of r.apiKeys) kafkaKeys.set(k.apiKey, [k.minVersion, k.maxVersion]);
        else {
          for (const k of r.apiKeys) {
            const kk = kafkaKeys.get(k.apiKey);
            assert.ok(kk, `Runnel serves API ${k.apiKey}, Kafka does not`);
            assert.ok(k.maxVersion <= kk[1], `API ${k.apiKey}: Runnel's max v${k.maxVersion} above Kafka's v${kk[1]}`);
          }
        }
        out[`v${v}`] = { errorCode: r.errorCode };
      }
      return out;
    });
    assertSame("ApiVersions", diffs);
  });

  test("Metadata: known, unknown and invalid topic names, unknown topic ids, all topics, authorized operations", async () => {
    const p = await pair();
    const diffs = await p.compare("Metadata", async (s) => {
      await createTopic(s, "md-three", 3);
      const out: Record<string, unknown> = {};
      for (const v of p.versions(3)) {
        // Unknown names only from v4, where auto-creation can be refused (v0-3 always auto-create).
        const topics = [{ name: "md-three", topicId: new Uint8Array(16) }, ...(v >= 4 ? [{ name: `md-no-such-${v}`, topicId: new Uint8Array(16) }, { name: "bad/name", topicId: new Uint8Array(16) }] : [])];
        const r = await s.client.request(3, v, { topics, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: true });
        out[`v${v} names`] = { ...r, brokers: r.brokers.length };
        if (v >= 10) {
          const id = new Uint8Array(16).fill(7);
          const byId = await s.client.request(3, v, { topics: [{ name: null, topicId: id }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
          out[`v${v} unknown id`] = byId.topics;
        }
        const all = await s.client.request(3, v, { topics: v === 0 ? [] : null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
        out[`v${v} all`] = all.topics.filter((t: any) => t.name === "md-three").length;
        out[`v${v} cluster ops`] = v >= 8 && v <= 10 ? r.clusterAuthorizedOperations : null;
      }
      return out;
    });
    assertSame("Metadata", diffs);
  });

  test("Metadata auto-creates a topic when allowed and auto.create.topics.enable is on", async () => {
    const p = await pair();
    const diffs = await p.compare("Metadata", async (s) => {
      const out: Record<string, unknown> = {};
      const v = Math.max(...p.versions(3));
      let r = await s.client.request(3, v, { topics: [{ name: "md-auto", topicId: new Uint8Array(16) }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
      // The first answer races the creation (Kafka answers UNKNOWN_TOPIC_OR_PARTITION or LEADER_NOT_AVAILABLE until its controller is done).
      out.first = [0, 3, 5].includes(r.topics[0].errorCode) ? "created or pending" : r.topics[0].errorCode;
      for (let i = 0; i < 100 && !(r.topics[0].errorCode === 0 && r.topics[0].partitions[0]?.leaderId >= 0); i++) {
        await new Promise((res) => setTimeout(res, 50));
        r = await s.client.request(3, v, { topics: [{ name: "md-auto", topicId: new Uint8Array(16) }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false });
      }
      out.after = r.topics;
      return out;
    });
    assertSame("Metadata auto-create", diffs);
  });

  test("CreateTopics: bad names, existing, duplicate, bad counts, RF too high, bad configs, validate-only", async () => {
    const p = await pair();
    const diffs = await p.compare("CreateTopics", async (s) => {
      const out: Record<string, unknown> = {};
      await createTopic(s, "ct-existing");
      for (const v of p.versions(19)) {
        const t = (name: string, extra: Record<string, unknown> = {}) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [], ...extra });
        const topics = [
          t(""), t("."), t(".."), t("bad/name"), t("bad name"), t("x".repeat(250)), t("ct-existing"),
          t(`ct-zero-partitions-${v}`, { numPartitions: 0 }), t(`ct-neg-partitions-${v}`, { numPartitions: -5 }),
          t(`ct-rf-3-${v}`, { replicationFactor: 3 }), t(`ct-rf-0-${v}`, { replicationFactor: 0 }),
          t(`ct-bad-config-key-${v}`, { configs: [{ name: "no.such.config", value: "1" }] }),
          t(`ct-bad-config-value-${v}`, { configs: [{ name: "retention.ms", value: "soon" }] }),
          t(`ct-bad-cleanup-${v}`, { configs: [{ name: "cleanup.policy", value: "shred" }] }),
          t(`ct-null-config-${v}`, { configs: [{ name: "retention.ms", value: null }] }),
          t(`ct-bad-assignment-${v}`, { numPartitions: 2, assignments: [{ partitionIndex: 0, brokerIds: [1] }] }),
          t(`ct-unknown-broker-${v}`, { numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [77] }] }),
          // manual assignments (both counts -1) as Kafka's controller checks them, in its order
          ...([
            ["dup-broker", [[0, [1, 1]]]], ["empty", [[0, []]]], ["hole", [[0, [1]], [2, [1]]]], ["same-partition", [[0, [1]], [0, [1]]]],
            ["counts-differ", [[0, [1]], [1, [1, 77]]]], ["unknown-then-hole", [[1, [77]], [3, [1]]]], ["ok", [[1, [1]], [0, [1]]]],
          ] as [string, [number, number[]][]][]).map(([what, parts]) => t(`ct-assign-${what}-${v}`, { numPartitions: -1, replicationFactor: -1, assignments: parts.map(([partitionIndex, brokerIds]) => ({ partitionIndex, brokerIds })) })),
          t(`ct-assign-rf-set-${v}`, { numPartitions: -1, assignments: [{ partitionIndex: 0, brokerIds: [1] }] }),
          t(`ct-defaults-${v}`, { numPartitions: -1, replicationFactor: -1 }),
          t(`ct-with-configs-${v}`, { numPartitions: 2, configs: [{ name: "retention.ms", value: "3600000" }, { name: "cleanup.policy", value: "compact" }] }),
        ];
        const validate = await s.client.request(19, v, { topics: topics.filter((x) => v >= 4 || !x.name.startsWith("ct-defaults")), timeoutMs: 30000, validateOnly: true });
        out[`v${v} validate-only`] = validate.topics;
        const dup = await s.client.request(19, v, { topics: [t(`ct-dup-${v}`), t(`ct-dup-${v}`)], timeoutMs: 30000, validateOnly: false });
        out[`v${v} duplicate`] = dup.topics;
        const real = await s.client.request(19, v, { topics: [t(`ct-real-${v}`, { numPartitions: 2, configs: [{ name: "retention.ms", value: "3600000" }] }), t(`ct-real-assigned-${v}`, { numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 1, brokerIds: [1] }, { partitionIndex: 0, brokerIds: [1] }] })], timeoutMs: 30000, validateOnly: false });
        out[`v${v} real`] = real.topics;
      }
      return out;
    });
    assertSame("CreateTopics", diffs);
  });

  test("DescribeConfigs: every topic config with value, source, type, read-only, synonyms; overrides; unknown topic", async () => {
    const p = await pair();
    const diffs = await p.compare("DescribeConfigs", async (s) => {
      const out: Record<string, unknown> = {};
      await createTopic(s, "dc-topic", 1, [{ name: "retention.ms", value: "3600000" }, { name: "cleanup.policy", value: "compact" }, { name: "max.message.bytes", value: "2000000" }]);
      for (const v of p.versions(32)) {
        const r = await s.client.request(32, v, {
          resources: [
            { resourceType: TOPIC, resourceName: "dc-topic", configurationKeys: null },
            { resourceType: TOPIC, resourceName: "dc-no-such-topic", configurationKeys: null },
            { resourceType: TOPIC, resourceName: "dc-topic", configurationKeys: ["retention.ms", "segment.bytes", "no.such.key"] },
          ],
          includeSynonyms: true,
          includeDocumentation: true,
        });
        out[`v${v}`] = r.results;
      }
      return out;
    });
    assertSame("DescribeConfigs topic", diffs);
  });

  test("DescribeConfigs: broker configs (chosen keys) with value, source, type and synonyms; unknown broker; bad resource type", async () => {
    const p = await pair();
    const keys = [
      "num.partitions", "default.replication.factor", "log.retention.hours", "log.retention.ms", "log.retention.bytes", "log.segment.bytes",
      "log.roll.hours", "message.max.bytes", "auto.create.topics.enable", "min.insync.replicas", "log.cleanup.policy", "compression.type",
      "log.flush.interval.messages", "log.flush.interval.ms", "offsets.retention.minutes", "log.cleaner.threads", "log.cleaner.enable",
      "offsets.topic.num.partitions", "group.initial.rebalance.delay.ms", "socket.request.max.bytes", "max.connection.creation.rate", "no.such.key",
    ];
    const diffs = await p.compare("DescribeConfigs", async (s) => {
      const out: Record<string, unknown> = {};
      for (const v of p.versions(32)) {
        const r = await s.client.request(32, v, {
          resources: [
            { resourceType: BROKER, resourceName: "1", configurationKeys: keys },
            { resourceType: BROKER, resourceName: "", configurationKeys: keys },
            { resourceType: BROKER, resourceName: "99", configurationKeys: null },
            { resourceType: BROKER, resourceName: "not-a-number", configurationKeys: null },
          ],
          includeSynonyms: true,
          includeDocumentation: false,
        });
        out[`v${v}`] = r.results;
        const badType = await s.client.request(32, v, { resources: [{ resourceType: 77, resourceName: "x", configurationKeys: null }], includeSynonyms: false, includeDocumentation: false });
        out[`v${v} bad type`] = badType.results;
      }
      return out;
    });
    assertSame("DescribeConfigs broker", diffs);
  });

  test("IncrementalAlterConfigs and AlterConfigs: topic changes, errors, dynamic broker configs, group configs", async () => {
    const p = await pair();
    const diffs = await p.compare("IncrementalAlterConfigs", async (s) => {
      const out: Record<string, unknown> = {};
      await createTopic(s, "iac-topic");
      const describeOnce = async (resourceType: number, resourceName: string, keys: string[]) =>
        (await s.client.request(32, 4, { resources: [{ resourceType, resourceName, configurationKeys: keys }], includeSynonyms: true, includeDocumentation: false })).results;
      // Kafka applies a config change through its controller and metadata log, in steps that a describe can land
      // between for hundreds of ms on a loaded machine (a broker config's synonyms change before its value, the
      // node's record before the cluster default's). Metadata records are applied in log order, so once a topic
      // created after the change serves (createTopic waits for its leader and ListOffsets), the change is applied.
      let applied = 0;
      const describe = async (resourceType: number, resourceName: string, keys: string[]) => {
        await createTopic(s, `iac-applied-${applied++}`);
        return describeOnce(resourceType, resourceName, keys);
      };
      for (const v of p.versions(44)) {
        const set = (name: string, value: string | null, op = 0) => ({ name, configOperation: op, value });
        const r = await s.client.request(44, v, {
          resources: [
            { resourceType: TOPIC, resourceName: "iac-topic", configs: [set("retention.ms", "7200000"), set("cleanup.policy", "compact", 2)] },
            { resourceType: TOPIC, resourceName: "iac-no-such-topic", configs: [set("retention.ms", "1")] },
            { resourceType: TOPIC, resourceName: "iac-topic", configs: [set("no.such.key", "1")] },
          ],
          validateOnly: false,
        });
        out[`v${v} topic`] = r.responses;
        const bad = await s.client.request(44, v, { resources: [{ resourceType: TOPIC, resourceName: "iac-topic", configs: [set("retention.ms", "soon")] }], validateOnly: false });
        out[`v${v} bad value`] = bad.responses;
        const badOp = await s.client.request(44, v, { resources: [{ resourceType: TOPIC, resourceName: "iac-topic", configs: [set("retention.ms", "1", 2)] }], validateOnly: false });
        out[`v${v} append to non-list`] = badOp.responses;
        const validate = await s.client.request(44, v, { resources: [{ resourceType: TOPIC, resourceName: "iac-topic", configs: [set("retention.ms", "1000")] }], validateOnly: true });
        out[`v${v} validate-only`] = validate.responses;
        out[`v${v} topic after`] = await describe(TOPIC, "iac-topic", ["retention.ms", "cleanup.policy"]);
        const del = await s.client.request(44, v, { resources: [{ resourceType: TOPIC, resourceName: "iac-topic", configs: [set("retention.ms", null, 1), set("cleanup.policy", null, 1)] }], validateOnly: false });
        out[`v${v} delete`] = del.responses;
        out[`v${v} topic reset`] = await describe(TOPIC, "iac-topic", ["retention.ms", "cleanup.policy"]);

        const broker = await s.client.request(44, v, {
          resources: [
            { resourceType: BROKER, resourceName: "1", configs: [set("log.cleaner.threads", "2"), set("log.retention.ms", "86400000")] },
            { resourceType: BROKER, resourceName: "", configs: [set("log.retention.bytes", "1073741824"), set("message.max.bytes", "2000000")] },
          ],
          validateOnly: false,
        });
        out[`v${v} broker`] = broker.responses;
        // (log.retention.ms is set but not described: Kafka's synonyms for it list log.retention.hours only once it is set dynamically.)
        out[`v${v} broker after`] = await describe(BROKER, "1", ["log.cleaner.threads", "log.retention.bytes", "message.max.bytes"]);
        out[`v${v} default after`] = await describe(BROKER, "", ["log.cleaner.threads", "log.retention.bytes", "message.max.bytes"]);
        const staticKey = await s.client.request(44, v, { resources: [{ resourceType: BROKER, resourceName: "1", configs: [set("log.dirs", "/tmp/x")] }], validateOnly: false });
        out[`v${v} broker static key`] = staticKey.responses;
        // KIP-612: the broker-wide connection creation rate is dynamic; a negative one is refused (ConfigDef atLeast(0))
        const rates = [];
        for (const value of ["-1", "500"]) rates.push((await s.client.request(44, v, { resources: [{ resourceType: BROKER, resourceName: "", configs: [set("max.connection.creation.rate", value)] }], validateOnly: false })).responses);
        out[`v${v} connection creation rate`] = rates;
        out[`v${v} connection creation rate after`] = await describe(BROKER, "", ["max.connection.creation.rate"]);
        await s.client.request(44, v, { resources: [{ resourceType: BROKER, resourceName: "", configs: [set("max.connection.creation.rate", null, 1)] }], validateOnly: false });
        // ... and per listener (listener.name.<l>.max.connection.creation.rate), for one broker and as the cluster
        // default: its value is checked as the base key's, a live listener refuses 0, a listener the broker lacks
        // does not; described with its type, source and the base key as synonym
        const listenerRate = "listener.name.plaintext.max.connection.creation.rate";
        const perListener = [];
        for (const [name, key, value] of [["1", listenerRate, "-1"], ["1", listenerRate, "abc"], ["1", listenerRate, "0"], ["", listenerRate, "0"], ["", "max.connection.creation.rate", "0"], ["1", "listener.name.nosuch.max.connection.creation.rate", "0"], ["1", listenerRate, "700"], ["", listenerRate, "600"]]) {
          perListener.push((await s.client.request(44, v, { resources: [{ resourceType: BROKER, resourceName: name, configs: [set(key, value)] }], validateOnly: false })).responses);
        }
        out[`v${v} listener connection creation rate`] = perListener;
        out[`v${v} listener connection creation rate after`] = await describe(BROKER, "1", [listenerRate, "listener.name.nosuch.max.connection.creation.rate", "max.connection.creation.rate"]);
        out[`v${v} listener connection creation rate default after`] = await describe(BROKER, "", [listenerRate]);
        await s.client.request(44, v, { resources: [{ resourceType: BROKER, resourceName: "1", configs: [set(listenerRate, null, 1), set("listener.name.nosuch.max.connection.creation.rate", null, 1)] }], validateOnly: false });
        out[`v${v} listener connection creation rate per-broker removed`] = await describe(BROKER, "1", [listenerRate]);
        await s.client.request(44, v, { resources: [{ resourceType: BROKER, resourceName: "", configs: [set(listenerRate, null, 1)] }], validateOnly: false });
        // ... and a listener's own max.connections (KIP-402): checked as the base key's, a live listener refuses 0 (also
        // max.connections=0 itself while a listener has none of its own), a listener the broker lacks does not;
        // described with the base key as synonym
        const listenerMax = "listener.name.plaintext.max.connections";
        const perListenerMax = [];
        for (const [name, key, value] of [["1", listenerMax, "-1"], ["1", listenerMax, "abc"], ["1", listenerMax, "0"], ["", listenerMax, "0"], ["", "max.connections", "0"], ["1", "max.connections", "0"], ["1", "listener.name.nosuch.max.connections", "0"], ["1", listenerMax, "700"], ["", listenerMax, "600"]]) {
          perListenerMax.push((await s.client.request(44, v, { resources: [{ resourceType: BROKER, resourceName: name, configs: [set(key, value)] }], validateOnly: false })).responses);
        }
        out[`v${v} listener max connections`] = perListenerMax;
        out[`v${v} listener max connections after`] = await describe(BROKER, "1", [listenerMax, "listener.name.nosuch.max.connections", "max.connections"]);
        out[`v${v} listener max connections default after`] = await describe(BROKER, "", [listenerMax]);
        await s.client.request(44, v, { resources: [{ resourceType: BROKER, resourceName: "1", configs: [set(listenerMax, null, 1), set("listener.name.nosuch.max.connections", null, 1), set("max.connections", null, 1)] }], validateOnly: false });
        out[`v${v} listener max connections per-broker removed`] = await describe(BROKER, "1", [listenerMax]);
        await s.client.request(44, v, { resources: [{ resourceType: BROKER, resourceName: "", configs: [set(listenerMax, null, 1)] }], validateOnly: false });
        const otherBroker = await s.client.request(44, v, { resources: [{ resourceType: BROKER, resourceName: "2", configs: [set("log.cleaner.threads", "3")] }], validateOnly: false });
        out[`v${v} other broker`] = otherBroker.responses;
        const unset = await s.client.request(44, v, {
          resources: [
            { resourceType: BROKER, resourceName: "1", configs: [set("log.cleaner.threads", null, 1), set("log.retention.ms", null, 1)] },
            { resourceType: BROKER, resourceName: "", configs: [set("log.retention.bytes", null, 1), set("message.max.bytes", null, 1)] },
          ],
          validateOnly: false,
        });
        out[`v${v} broker unset`] = unset.responses;
        out[`v${v} broker reset`] = await describe(BROKER, "1", ["log.cleaner.threads", "log.retention.bytes", "message.max.bytes"]);

        const group = await s.client.request(44, v, {
          resources: [
            { resourceType: GROUP, resourceName: `iac-group-${v}`, configs: [set("consumer.session.timeout.ms", "50000"), set("consumer.heartbeat.interval.ms", "6000")] },
            { resourceType: GROUP, resourceName: `iac-group-bad-${v}`, configs: [set("consumer.session.timeout.ms", "1")] },
            { resourceType: GROUP, resourceName: `iac-group-unknown-${v}`, configs: [set("no.such.group.config", "1")] },
          ],
          validateOnly: false,
        });
        out[`v${v} group`] = group.responses;
        out[`v${v} group after`] = await describe(GROUP, `iac-group-${v}`, ["consumer.session.timeout.ms", "consumer.heartbeat.interval.ms"]);
      }
      for (const v of p.versions(33)) {
        const alter = async (resourceType: number, resourceName: string, name: string, value: string) =>
          (await s.client.request(33, v, { resources: [{ resourceType, resourceName, configs: [{ name, value }] }], validateOnly: false })).responses;
        out[`alter v${v} topic`] = await alter(TOPIC, "iac-topic", "retention.ms", "5000000");
        out[`alter v${v} unknown topic`] = await alter(TOPIC, "iac-no-such-topic", "retention.ms", "1");
        out[`alter v${v} bad value`] = await alter(TOPIC, "iac-topic", "retention.ms", "soon");
        out[`alter v${v} broker dynamic`] = await alter(BROKER, "1", "log.cleaner.threads", "2");
        out[`alter v${v} broker static`] = await alter(BROKER, "1", "log.dirs", "/tmp/x");
        out[`alter v${v} after`] = await describe(TOPIC, "iac-topic", ["retention.ms"]);
      }
      await s.client.request(33, 2, { resources: [{ resourceType: BROKER, resourceName: "1", configs: [] }], validateOnly: false });
      return out;
    });
    assertSame("(Incremental)AlterConfigs", diffs);
  });

  test("CreatePartitions: increase, same count, decrease, unknown topic, too many, duplicates, validate-only", async () => {
    const p = await pair();
    const diffs = await p.compare("CreatePartitions", async (s) => {
      const out: Record<string, unknown> = {};
      for (const v of p.versions(37)) {
        await createTopic(s, `cp-${v}`, 2);
        const t = (name: string, count: number, assignments: { brokerIds: number[] }[] | null = null) => ({ name, count, assignments });
        out[`v${v} validate`] = (await s.client.request(37, v, { topics: [t(`cp-${v}`, 4), t(`cp-${v}`, 2), t(`cp-${v}`, 1), t("cp-no-such", 3)], timeoutMs: 30000, validateOnly: true })).results;
        out[`v${v} bad`] = (await s.client.request(37, v, { topics: [t(`cp-${v}`, 2), t("cp-no-such", 3)], timeoutMs: 30000, validateOnly: false })).results;
        out[`v${v} decrease`] = (await s.client.request(37, v, { topics: [t(`cp-${v}`, 1)], timeoutMs: 30000, validateOnly: false })).results;
        out[`v${v} bad assignment`] = (await s.client.request(37, v, { topics: [t(`cp-${v}`, 4, [{ brokerIds: [1] }])], timeoutMs: 30000, validateOnly: false })).results;
        out[`v${v} unknown broker`] = (await s.client.request(37, v, { topics: [t(`cp-${v}`, 3, [{ brokerIds: [42] }])], timeoutMs: 30000, validateOnly: false })).results;
        out[`v${v} increase`] = (await s.client.request(37, v, { topics: [t(`cp-${v}`, 3)], timeoutMs: 30000, validateOnly: false })).results;
      }
      return out;
    });
    assertSame("CreatePartitions", diffs);
  });

  test("DeleteRecords and ListOffsets: every timestamp kind before and after deleting, out of range, unknown partition", async () => {
    const p = await pair();
    const diffs = await p.compare("DeleteRecords/ListOffsets", async (s) => {
      const out: Record<string, unknown> = {};
      await createTopic(s, "dr-topic", 2);
      out.produce = await produce(s, "dr-topic", 0, batch(10));
      const lv = p.versions(2);
      for (const v of lv) {
        // One request per timestamp kind: Kafka refuses a partition listed twice in one request.
        const stamps = [-1n, -2n, -3n, -4n, -5n, 1_700_000_000_000n, 1_700_000_004_500n, 1_700_000_009_000n, 1_800_000_000_000n];
        for (const timestamp of stamps) {
          if (timestamp === -3n && v < 7) continue;
          if (timestamp === -4n && v < 8) continue;
          if (timestamp === -5n && v < 9) continue;
          const r = await s.client.request(2, v, { replicaId: -1, isolationLevel: 0, topics: [{ name: "dr-topic", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }], timeoutMs: 1000 });
          out[`list v${v} ${timestamp}`] = r.topics;
        }
        const unknown = await s.client.request(2, v, { replicaId: -1, isolationLevel: 0, topics: [{ name: "dr-no-such", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }, { name: "dr-topic", partitions: [{ partitionIndex: 9, currentLeaderEpoch: -1, timestamp: -1n }] }], timeoutMs: 1000 });
        out[`list v${v} unknown`] = unknown.topics;
      }
      for (const v of p.versions(21)) {
        const r = await s.client.request(21, v, {
          topics: [
            { name: "dr-topic", partitions: [{ partitionIndex: 0, offset: BigInt(2 + v) }, { partitionIndex: 1, offset: 5n }, { partitionIndex: 7, offset: 0n }] },
            { name: "dr-no-such", partitions: [{ partitionIndex: 0, offset: 0n }] },
          ],
          timeoutMs: 10000,
        });
        out[`delete v${v}`] = r.topics;
        out[`delete v${v} above end`] = (await s.client.request(21, v, { topics: [{ name: "dr-topic", partitions: [{ partitionIndex: 0, offset: 11n }] }], timeoutMs: 10000 })).topics;
        out[`delete v${v} to end (-1)`] = v === Math.max(...p.versions(21)) ? (await s.client.request(21, v, { topics: [{ name: "dr-topic", partitions: [{ partitionIndex: 1, offset: -1n }] }], timeoutMs: 10000 })).topics : null;
      }
      for (const timestamp of [-1n, -2n, -3n, 1_700_000_000_000n]) {
        const v = Math.max(...lv);
        const r = await s.client.request(2, v, { replicaId: -1, isolationLevel: 0, topics: [{ name: "dr-topic", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }], timeoutMs: 1000 });
        out[`list after delete ${timestamp}`] = r.topics;
      }
      return out;
    });
    assertSame("DeleteRecords/ListOffsets", diffs);
  });
  test("DescribeCluster (authorized operations, endpoint types), DeleteTopics (unknown names and ids, twice), OffsetForLeaderEpoch", async () => {
    const p = await pair();
    const diffs = await p.compare("Cluster/DeleteTopics/OffsetForLeaderEpoch", async (s) => {
      const out: Record<string, unknown> = {};
      for (const v of p.versions(60)) {
        for (const include of [false, true]) {
          const r = await s.client.request(60, v, { includeClusterAuthorizedOperations: include, endpointType: 1, includeFencedBrokers: false });
          out[`describeCluster v${v} ${include}`] = { ...r, brokers: r.brokers.length };
        }
        if (v >= 1) out[`describeCluster v${v} controllers`] = (await s.client.request(60, v, { includeClusterAuthorizedOperations: false, endpointType: 2, includeFencedBrokers: false })).errorCode;
      }
      const id = await createTopic(s, "ofle-topic", 2);
      await produce(s, "ofle-topic", 0, batch(5));
      for (const v of p.versions(23)) {
        const r = await s.client.request(23, v, {
          replicaId: -1,
          topics: [
            { topic: "ofle-topic", partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }, { partition: 1, currentLeaderEpoch: 0, leaderEpoch: 0 }, { partition: 0, currentLeaderEpoch: 5, leaderEpoch: 0 }, { partition: 7, currentLeaderEpoch: -1, leaderEpoch: 0 }] },
            { topic: "ofle-no-such", partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] },
          ],
        });
        out[`offsetForLeaderEpoch v${v}`] = r.topics.map((t: any) => ({ topic: t.topic, partitions: t.partitions.map((x: any) => ({ ...x })).sort((a: any, b: any) => a.partition - b.partition || a.errorCode - b.errorCode) }));
      }
      for (const v of p.versions(20)) {
        const name = `dt-${v}`;
        const tid = await createTopic(s, name, 1);
        const del = await s.client.request(20, v, { topicNames: [name, "dt-no-such"], topics: [{ name, topicId: new Uint8Array(16) }, { name: "dt-no-such", topicId: new Uint8Array(16) }], timeoutMs: 10000 });
        out[`deleteTopics v${v}`] = del.responses;
        if (v >= 6) {
          const byId = await s.client.request(20, v, { topics: [{ name: null, topicId: new Uint8Array(16).fill(3) }], timeoutMs: 10000 });
          out[`deleteTopics v${v} unknown id`] = byId.responses;
        }
        void tid;
      }
      void id;
      return out;
    });
    assertSame("Cluster/DeleteTopics/OffsetForLeaderEpoch", diffs);
  });
  test("DescribeProducers and DescribeLogDirs after idempotent writes", async () => {
    const p = await pair();
    const diffs = await p.compare("DescribeProducers/DescribeLogDirs", async (s) => {
      const out: Record<string, unknown> = {};
      await createTopic(s, "dp-topic", 2);
      const init = await initProducer(s, null);
      out.produce = await produce(s, "dp-topic", 0, batch(4, { producerId: init.producerId, producerEpoch: init.producerEpoch, baseSequence: 0 }));
      for (const v of p.versions(61)) {
        const r = await s.client.request(61, v, { topics: [{ name: "dp-topic", partitionIndexes: [0, 1, 9] }, { name: "dp-no-such", partitionIndexes: [0] }] });
        out[`describeProducers v${v}`] = r.topics;
      }
      for (const v of p.versions(35)) {
        const r = await s.client.request(35, v, { topics: [{ topic: "dp-topic", partitions: [0, 1] }, { topic: "dp-no-such", partitions: [0] }] });
        // Paths and disk sizes are each machine's own; the topics and partition sizes are compared.
        out[`describeLogDirs v${v}`] = { errorCode: r.errorCode, dirs: r.results.length, results: r.results.map((d: any) => ({ errorCode: d.errorCode, topics: d.topics, isCordoned: d.isCordoned })) };
      }
      return out;
    });
    assertSame("DescribeProducers/DescribeLogDirs", diffs);
  });

  test("DescribeTopicPartitions: named, unknown and invalid topics, pages by cursor, every topic, a cursor outside the list", async () => {
    const p = await pair();
    const diffs = await p.compare("DescribeTopicPartitions", async (s) => {
      await createTopic(s, "dtp-a", 3);
      await createTopic(s, "dtp-b", 2);
      const out: Record<string, unknown> = {};
      for (const v of p.versions(75)) {
        const ask = (topics: string[], limit: number, cursor: { topicName: string; partitionIndex: number } | null) => s.client.request(75, v, { topics: topics.map((name) => ({ name })), responsePartitionLimit: limit, cursor });
        out[`v${v} named`] = await ask(["dtp-b", "dtp-no-such", "bad/name", "dtp-a"], 2000, null);
        out[`v${v} first page`] = await ask(["dtp-a", "dtp-b"], 2, null);
        out[`v${v} mid-topic cursor`] = await ask(["dtp-a", "dtp-b"], 2, { topicName: "dtp-a", partitionIndex: 2 });
        out[`v${v} topic cursor`] = await ask(["dtp-a", "dtp-b"], 2, { topicName: "dtp-b", partitionIndex: 0 });
        out[`v${v} cursor outside the list`] = await ask(["dtp-a"], 10, { topicName: "dtp-b", partitionIndex: 0 });
        out[`v${v} negative cursor partition`] = await ask(["dtp-a"], 10, { topicName: "dtp-a", partitionIndex: -1 });
        const all = await ask([], 2000, null);
        out[`v${v} all`] = { ...all, topics: all.topics.filter((t: { name: string }) => t.name.startsWith("dtp-")) };
      }
      return out;
    });
    assertSame("DescribeTopicPartitions", diffs);
  });
});
