/**
 * The Python clients' admin APIs against Runnel (tests/interop/py_admin_story.py): kafka-python's KafkaAdminClient
 * (topics, configs, partitions, consumer groups and their offsets after a KafkaConsumer in a group committed) and
 * confluent-kafka's AdminClient on librdkafka (topics, configs, partitions, groups). Skipped when /usr/bin/python3
 * or the module is missing (tests/setup.d/10-interop-peers.sh installs them as root).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { startTestBroker } from "../support/broker.ts";
import { PYTHON, havePythonModule, runProc } from "../support/proc.ts";
import { storySteps, type StorySteps } from "../support/json-process.ts";

const script = path.join(import.meta.dirname, "py_admin_story.py");

async function story(lib: string): Promise<StorySteps> {
  const b = await startTestBroker();
  try {
    const r = await runProc(PYTHON, [script, lib, b.bootstrap], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return storySteps(r.stdout);
  } finally {
    await b.stop();
  }
}

test("kafka-python KafkaAdminClient and a KafkaConsumer group", { skip: (await havePythonModule("kafka")) ? false : "kafka-python is not installed", timeout: 150_000 }, async () => {
  const { result, error } = await story("kafka-python");
  assert.deepEqual(result("create_topics"), ["('py-a', 0, None)"]);
  assert.match(error("create_topics-existing"), /^TopicAlreadyExistsError/);
  assert.deepEqual(result("describe_configs"), { "retention.ms": "3600000", "cleanup.policy": "delete" });
  assert.deepEqual(result("alter_configs"), { "retention.ms": "7200000", "cleanup.policy": "delete" });
  assert.equal(result("create_partitions"), 3);
  assert.deepEqual(result("group_consume"), Array.from({ length: 30 }, (_, i) => `v${i}`).sort());
  assert.deepEqual(result("list_consumer_groups"), [["py-g", "consumer"]]);
  assert.deepEqual(result("describe_consumer_groups"), [["py-g", "Empty", "consumer", 0]]);
  assert.deepEqual(result("list_consumer_group_offsets"), { "py-a-0": 10, "py-a-1": 10, "py-a-2": 10 });
  assert.deepEqual(result("delete_consumer_groups"), [["py-g", "<class 'kafka.errors.NoError'>"]]);
  assert.deepEqual(result("delete_topics"), [0]);
});

test("confluent-kafka (librdkafka) AdminClient", { skip: (await havePythonModule("confluent_kafka")) ? false : "confluent-kafka is not installed", timeout: 150_000 }, async () => {
  const { result, error } = await story("confluent");
  const DYNAMIC_TOPIC_CONFIG = 1;
  const DEFAULT_CONFIG = 5;
  assert.deepEqual(result("create_topics"), { "cf-a": null });
  assert.match(error("create_topics-existing"), /TOPIC_ALREADY_EXISTS/);
  assert.deepEqual(result("describe_configs"), { "retention.ms": ["3600000", DYNAMIC_TOPIC_CONFIG], "cleanup.policy": ["delete", DEFAULT_CONFIG] });
  // AlterConfigs (the legacy API librdkafka 1.7 uses) replaces the topic's whole set of overrides.
  assert.deepEqual(result("alter_configs"), { "retention.ms": ["7200000", DYNAMIC_TOPIC_CONFIG], "cleanup.policy": ["delete", DEFAULT_CONFIG] });
  assert.equal(result("create_partitions"), 3);
  assert.deepEqual(result("list_topics"), ["cf-a"]);
  assert.deepEqual(result("list_groups"), []);
  assert.deepEqual(result("delete_topics"), { "cf-a": null });
});
