/**
 * request_percentage (KIP-124) and controller_mutation_rate (KIP-599) with real clients.
 * - Kafka's kafka-configs tool sets request_percentage=1 for client id `busy` under the default user and 1000 for the
 *   default user: by Kafka's precedence `busy` gets 1 and is throttled (librdkafka's throttle_cb reports the broker's
 *   throttle_time_ms) while a client under the default user's 1000 sends as many requests without a throttle.
 * - The Java Admin client sets controller_mutation_rate for client id `mut`; as `mut`, CreateTopics (v7),
 *   CreatePartitions (v3) and DeleteTopics (v6) with retryOnQuotaViolation(false) get THROTTLING_QUOTA_EXCEEDED
 *   (with its throttle time) for the topics past the quota, while the default retries succeed once it allows;
 *   kafkajs (CreateTopics v3, before KIP-599's error) has every topic created and the throttle time in the response.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { startTestBroker } from "../support/broker.ts";
import { topicPartitionCount } from "../support/topic-state.ts";
import { PYTHON, havePythonModule, runProc } from "../support/proc.ts";
import { KAFKA_TOOL, javaSkip, runJava, startToolSession } from "../support/java.ts";

const pySkip = javaSkip || ((await havePythonModule("confluent_kafka")) ? false : "python module confluent_kafka is not installed (tests/setup.sh installs it as root)");

test("request_percentage: the client over its quota is throttled, one under a larger quota by precedence is not", { skip: pySkip, timeout: 180_000 }, async () => {
  const b = await startTestBroker({ "quota.window.num": "2", "quota.window.size.seconds": "1" });
  const tools = startToolSession();
  try {
    for (const args of [
      ["--entity-type", "users", "--entity-default", "--entity-type", "clients", "--entity-name", "busy", "--add-config", "request_percentage=1"],
      ["--entity-type", "users", "--entity-default", "--add-config", "request_percentage=1000"],
    ]) {
      const r = await tools.run(KAFKA_TOOL.configs, ["--bootstrap-server", b.bootstrap, "--alter", ...args]);
      assert.equal(r.code, 0, r.stderr);
    }
    const shown = await tools.run(KAFKA_TOOL.configs, ["--bootstrap-server", b.bootstrap, "--describe", "--entity-type", "users", "--entity-default", "--entity-type", "clients", "--entity-name", "busy"]);
    assert.match(shown.stdout, /request_percentage=1\.0/);
    await b.broker.createTopic("rq", 1, 1, {}, false);
    const send = async (clientId: string, max: number, stopOnThrottle: boolean) => {
      const r = await runProc(PYTHON, [path.join(import.meta.dirname, "py_request_quota.py"), b.bootstrap, clientId, "rq", String(max), stopOnThrottle ? "1" : "0"], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout.trim().split("\n").pop()!) as { sent: number; throttles: number[] };
    };
    const busy = await send("busy", 20_000, true);
    assert.ok(busy.throttles.length > 0 && busy.throttles[0] > 0, `busy was throttled after ${busy.sent} requests: ${JSON.stringify(busy)}`);
    const calm = await send("calm", busy.sent, false);
    assert.equal(calm.sent, busy.sent);
    assert.deepEqual(calm.throttles, [], "the client under request_percentage=1000 sent as many requests unthrottled");
  } finally {
    await tools.close();
    await b.stop();
  }
});

test("controller_mutation_rate: THROTTLING_QUOTA_EXCEEDED per topic for new clients, a throttle time for old ones", { skip: javaSkip, timeout: 180_000 }, async () => {
  // A burst of 10 partitions (10/s over one past window of 1 s).
  const b = await startTestBroker({ "controller.quota.window.num": "2", "controller.quota.window.size.seconds": "1" });
  try {
    const r = await runJava("runnel.MutationQuota", ["--bootstrap", b.bootstrap, "--rate", "10"]);
    assert.equal(r.code, 0, r.stderr);
    const ev = new Map(r.stdout.trim().split("\n").map((l) => JSON.parse(l)).map((e) => [e.event, e]));
    assert.deepEqual(ev.get("quota").described, { controller_mutation_rate: 10 });
    const throttled = (v: string) => /^throttled:[1-9]\d*$/.test(v);
    const create = ev.get("create-strict").result;
    assert.equal(create["mq-1"], "ok");
    assert.equal(create["mq-2"], "ok", "a topic may take the bucket into debt");
    assert.ok(throttled(create["mq-3"]), `mq-3 refused past the quota: ${JSON.stringify(create)}`);
    assert.deepEqual(ev.get("create-retrying").result, { "mq-1": "TopicExistsException", "mq-2": "TopicExistsException", "mq-3": "ok" });
    // The Java client waits out each throttle time (KIP-219), so each step starts with 0 to 10 tokens: 12 new
    // partitions always take the bucket into debt, so the next topic of the request is always refused.
    const grow = ev.get("partitions-strict").result;
    assert.ok(grow["mq-1"] === "ok" && throttled(grow["mq-2"]), `growing two topics by 12 partitions each: ${JSON.stringify(grow)}`);
    assert.deepEqual(ev.get("partitions-retrying").result, { "mq-2": "ok" });
    const del = ev.get("delete-strict").result as Record<string, string>;
    const deleted = Object.keys(del).filter((t) => del[t] === "ok");
    assert.ok(deleted.length === 1 && Object.values(del).filter(throttled).length === 2, `deleting three topics of 18, 18 and 6 partitions: ${JSON.stringify(del)}`);
    const again = ev.get("delete-retrying").result as Record<string, string>;
    for (const t of ["mq-1", "mq-2", "mq-3"]) assert.equal(again[t], deleted.includes(t) ? "UnknownTopicOrPartitionException" : "ok", JSON.stringify(again));
    assert.ok(!ev.get("left").topics.some((t: string) => t.startsWith("mq-")));
    assert.equal(await topicPartitionCount(b.port, "mq-1"), null);

    // kafkajs speaks CreateTopics v3: every topic is created and the response carries the throttle time.
    const throttles: number[] = [];
    const kafka = new Kafka({ clientId: "mut", brokers: [b.bootstrap], logLevel: logLevel.DEBUG, logCreator: () => ({ log }) => {
      // kafkajs keeps a v3+ throttle time (KIP-219: the client waits it out) as clientSideThrottleTime.
      const data = log.data as { clientSideThrottleTime?: number } | undefined;
      if (log.message?.startsWith("Response CreateTopics") && data?.clientSideThrottleTime !== undefined) throttles.push(data.clientSideThrottleTime);
    } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      assert.equal(await admin.createTopics({ topics: ["old-1", "old-2", "old-3"].map((topic) => ({ topic, numPartitions: 6 })) }), true);
    } finally {
      await admin.disconnect();
    }
    for (const t of ["old-1", "old-2", "old-3"]) assert.equal(await topicPartitionCount(b.port, t), 6);
    assert.ok(throttles.some((t) => t > 0), `CreateTopics v3 answered with a throttle time: ${JSON.stringify(throttles)}`);
  } finally {
    await b.stop();
  }
});
