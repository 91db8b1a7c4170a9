/**
 * Every state-changing call of the /v1 JSON API (the ones the console uses), checked from the Kafka side with
 * real clients: create a topic (and the errors for a duplicate or bad name), alter its config, produce a message
 * (read back by kcat with key, value and header), browse by offset, key filter, timestamp and newest N, reset a
 * group's offsets (dry run changes nothing; an active group is refused), delete the topic.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startHttpTestBroker, httpJson } from "../support/http-broker.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { Admin } from "../../src/client/admin.ts";
import { Consumer } from "../../src/client/consumer.ts";

const skip = haveCommand("kcat") ? false : "kcat is not installed";

test("JSON API changes are visible to Kafka clients", { skip, timeout: 120_000 }, async () => {
  const b = await startHttpTestBroker();
  const admin = new Admin({ bootstrap: b.bootstrap });
  try {
    await admin.connect();
    const api = (path: string, method = "GET", body?: unknown) => httpJson(`${b.url}/v1${path}`, method, body);

    // Create.
    const created = await api("/topics", "POST", { name: "api-topic", partitions: 2, configs: { "retention.ms": "3600000" } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual((await admin.describeTopics(["api-topic"]))[0].partitions.length, 2);
    const dup = await api("/topics", "POST", { name: "api-topic", partitions: 1 });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error, "TOPIC_ALREADY_EXISTS");
    const bad = await api("/topics", "POST", { name: "bad name!", partitions: 1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, "INVALID_TOPIC_EXCEPTION");

    // Alter config: visible through DescribeConfigs with the dynamic topic source.
    const altered = await api("/topics/api-topic/configs", "PATCH", { set: { "retention.ms": "7200000", "cleanup.policy": "compact,delete" } });
    assert.equal(altered.status, 200, JSON.stringify(altered.body));
    const cfg = await admin.describeConfigs(2, "api-topic", ["retention.ms", "cleanup.policy"]);
    assert.equal(cfg.find((c) => c.name === "retention.ms")?.value, "7200000");
    assert.equal(cfg.find((c) => c.name === "retention.ms")?.source, 1);
    const badCfg = await api("/topics/api-topic/configs", "PATCH", { set: { "retention.ms": "soon" } });
    assert.equal(badCfg.status, 400);
    assert.equal(badCfg.body.error, "INVALID_CONFIG");
    const removed = await api("/topics/api-topic/configs", "PATCH", { delete: ["cleanup.policy"] });
    assert.equal(removed.body.configs.find((c: any) => c.name === "cleanup.policy").source, "default");

    // Produce one message; kcat reads it back.
    const produced = await api("/topics/api-topic/messages", "POST", { partition: 1, key: "order-7", value: '{"id":7}', headers: { source: "http" } });
    assert.equal(produced.status, 201, JSON.stringify(produced.body));
    assert.deepEqual([produced.body.partition, produced.body.offset], [1, 0]);
    const c = await runProc("kcat", ["-C", "-b", b.bootstrap, "-t", "api-topic", "-p", "1", "-e", "-q", "-f", "%k|%s|%h\n"], { timeoutMs: 30_000 });
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout, 'order-7|{"id":7}|source=http\n');

    // Browse.
    const lines = Array.from({ length: 30 }, (_, i) => `user-${i}:payload ${i}`);
    const p = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", "api-topic", "-p", "0", "-K:"], { input: lines.join("\n") + "\n", timeoutMs: 30_000 });
    assert.equal(p.code, 0, p.stderr);
    const byOffset = await api("/topics/api-topic/messages?partition=0&offset=10&limit=5");
    assert.deepEqual(byOffset.body.records.map((r: any) => r.offset), [10, 11, 12, 13, 14]);
    assert.equal(byOffset.body.records[0].key, "user-10");
    assert.equal(byOffset.body.nextOffsets["0"], 15);
    const byKey = await api("/topics/api-topic/messages?partition=0&offset=0&key=USER-2");
    assert.deepEqual(byKey.body.records.map((r: any) => r.key), ["user-2", "user-20", "user-21", "user-22", "user-23", "user-24", "user-25", "user-26", "user-27", "user-28", "user-29"]);
    const byValue = await api("/topics/api-topic/messages?offset=0&value=payload%2017");
    assert.deepEqual(byValue.body.records.map((r: any) => [r.partition, r.offset]), [[0, 17]]);
    const newest = await api("/topics/api-topic/messages?partition=0&newest=3");
    assert.deepEqual(newest.body.records.map((r: any) => r.offset), [27, 28, 29]);
    const ts = byOffset.body.records[0].timestamp;
    const byTime = await api(`/topics/api-topic/messages?partition=0&timestamp=${ts + 1_000_000}`);
    assert.deepEqual(byTime.body.records, []);
    const fromTime = await api(`/topics/api-topic/messages?partition=1&timestamp=0`);
    assert.deepEqual(fromTime.body.records.map((r: any) => [r.key, r.headers]), [["order-7", [{ key: "source", value: "http", valueBase64: "aHR0cA==" }]]]);

    // Reset offsets: commit at the end, then plan and execute a reset to earliest.
    const consumer = new Consumer({ bootstrap: b.bootstrap, groupId: "api-group", autoOffsetReset: "earliest", enableAutoCommit: false });
    await consumer.connect();
    consumer.subscribe(["api-topic"]);
    let seen = 0;
    while (seen < 31) seen += (await consumer.poll(1000)).length;
    await consumer.commit();
    const active = await api("/groups/api-group/reset-offsets", "POST", { topic: "api-topic", to: "earliest", dryRun: false });
    assert.equal(active.status, 409, "an active group's offsets cannot be reset");
    await consumer.close();
    const committedBefore = await admin.groupOffsets("api-group");
    const plan = await api("/groups/api-group/reset-offsets", "POST", { topic: "api-topic", to: "earliest", dryRun: true });
    assert.equal(plan.status, 200, JSON.stringify(plan.body));
    assert.deepEqual(plan.body.offsets.map((o: any) => [o.partition, o.current, o.target]), [[0, 30, 0], [1, 1, 0]]);
    assert.deepEqual(await admin.groupOffsets("api-group"), committedBefore, "a dry run commits nothing");
    const done = await api("/groups/api-group/reset-offsets", "POST", { topic: "api-topic", to: "shift", shift: -5, dryRun: false });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const after = (await admin.groupOffsets("api-group")).map((o) => [o.partition, Number(o.offset)]).sort();
    assert.deepEqual(after, [[0, 25], [1, 0]]);
    const detail = await api("/groups/api-group");
    assert.equal(detail.body.lag, 5 + 1);

    // Delete.
    const del = await api("/topics/api-topic", "DELETE");
    assert.equal(del.status, 200);
    const listed = await runProc("kcat", ["-L", "-b", b.bootstrap], { timeoutMs: 30_000 });
    assert.equal(listed.code, 0, listed.stderr);
    assert.doesNotMatch(listed.stdout, /api-topic/);
    assert.equal((await api("/topics/api-topic")).status, 404);
  } finally {
    await admin.close();
    await b.stop();
  }
});
