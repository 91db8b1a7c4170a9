/**
 * The order in which admin requests report their errors, as Kafka 4.4 does (found by the randomized admin
 * differential test): configs are validated before a topic's existence (IncrementalAlterConfigs, AlterConfigs) and
 * before the partition count (CreateTopics); DELETE of an unknown config key is no error.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";

const TOPIC = 2;
const SET = 0, DELETE = 1, SUBTRACT = 3;
const INVALID_CONFIG = 40, UNKNOWN_TOPIC_OR_PARTITION = 3;

test("configs are validated before the topic's existence and the partition count; DELETE of an unknown key passes", async () => {
  const b = await startTestBroker({ "node.id": "1" });
  const c = await RawClient.connect(b.port);
  try {
    const inc = async (topic: string, configs: { name: string; configOperation: number; value: string | null }[]) =>
      (await c.request(44, 1, { resources: [{ resourceType: TOPIC, resourceName: topic, configs }], validateOnly: true })).responses[0].errorCode;
    const legacy = async (topic: string, configs: { name: string; value: string }[]) =>
      (await c.request(33, 1, { resources: [{ resourceType: TOPIC, resourceName: topic, configs }], validateOnly: false })).responses[0].errorCode;
    assert.equal(await inc("missing", [{ name: "retention.ms", configOperation: SUBTRACT, value: "0" }]), INVALID_CONFIG, "SUBTRACT on a non-list key, missing topic");
    assert.equal(await inc("missing", [{ name: "retention.ms", configOperation: SET, value: "-2" }]), INVALID_CONFIG, "a bad value, missing topic");
    assert.equal(await inc("missing", [{ name: "retention.ms", configOperation: SET, value: "1000" }]), UNKNOWN_TOPIC_OR_PARTITION, "a good value, missing topic");
    assert.equal(await legacy("missing", [{ name: "max.message.bytes", value: "-5" }]), INVALID_CONFIG, "legacy AlterConfigs, a bad value, missing topic");
    assert.equal(await inc("missing", [{ name: "no.such.config", configOperation: DELETE, value: null }]), UNKNOWN_TOPIC_OR_PARTITION, "DELETE of an unknown key, missing topic");
    assert.equal(await inc("missing", [{ name: "cleanup.policy", configOperation: 2, value: "" }]), INVALID_CONFIG, "APPEND of an empty item");
    await c.request(19, 5, { topics: [{ name: "here", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    assert.equal(await inc("here", [{ name: "no.such.config", configOperation: DELETE, value: null }]), 0, "DELETE of an unknown key, existing topic");
    const created = await c.request(19, 5, { topics: [{ name: "zero", numPartitions: 0, replicationFactor: 1, assignments: [], configs: [{ name: "segment.bytes", value: "big" }] }], timeoutMs: 1000, validateOnly: true });
    assert.equal(created.topics[0].errorCode, INVALID_CONFIG, "CreateTopics: a bad config before a bad partition count");
  } finally {
    c.close();
    await b.stop();
  }
});

test("DescribeConfigs with an empty key list describes every config, as with null", async () => {
  const b = await startTestBroker({ "node.id": "1" });
  const c = await RawClient.connect(b.port);
  try {
    await c.request(19, 5, { topics: [{ name: "keys", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    for (const [resourceType, resourceName] of [[TOPIC, "keys"], [4, "1"]] as const) {
      const ask = async (configurationKeys: string[] | null) =>
        (await c.request(32, 4, { resources: [{ resourceType, resourceName, configurationKeys }], includeSynonyms: false, includeDocumentation: false })).results[0].configs.length;
      const all = await ask(null);
      assert.ok(all > 10, `${resourceType}: every config (${all})`);
      assert.equal(await ask([]), all, `resource type ${resourceType}: [] as null`);
    }
  } finally {
    c.close();
    await b.stop();
  }
});

test("CreateTopics reports a given config as given (compact,compact); DescribeConfigs the parsed list (compact)", async () => {
  const b = await startTestBroker({ "node.id": "1" });
  const c = await RawClient.connect(b.port);
  try {
    const r = await c.request(19, 5, { topics: [{ name: "dups", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: "cleanup.policy", value: "compact,compact" }] }], timeoutMs: 1000, validateOnly: false });
    assert.equal(r.topics[0].configs.find((x: any) => x.name === "cleanup.policy").value, "compact,compact");
    const d = await c.request(32, 4, { resources: [{ resourceType: TOPIC, resourceName: "dups", configurationKeys: ["cleanup.policy"] }], includeSynonyms: false, includeDocumentation: false });
    assert.equal(d.results[0].configs[0].value, "compact");
  } finally {
    c.close();
    await b.stop();
  }
});

test("an empty cleanup.policy is accepted (Kafka 4.4: no cleanup, segments kept) and described as empty", async () => {
  const b = await startTestBroker({ "node.id": "1" });
  const c = await RawClient.connect(b.port);
  try {
    const r = await c.request(19, 5, { topics: [{ name: "keep", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: "cleanup.policy", value: "" }] }], timeoutMs: 1000, validateOnly: false });
    assert.equal(r.topics[0].errorCode, 0, r.topics[0].errorMessage);
    const d = await c.request(32, 4, { resources: [{ resourceType: TOPIC, resourceName: "keep", configurationKeys: ["cleanup.policy"] }], includeSynonyms: false, includeDocumentation: false });
    assert.equal(d.results[0].configs[0].value, "");
  } finally {
    c.close();
    await b.stop();
  }
});
