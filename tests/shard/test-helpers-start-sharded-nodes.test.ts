/**
 * The sharded test pass (tests/run.ts, docs/sharding.md): under `RUNNEL_TEST_SHARDS=2` the shared helpers start nodes
 * with 2 shards: `startTestBroker` a `runnel start --shards 2` process that serves clients and creates topics over
 * the wire, and refuses, by name, a test that reaches into the in-process Broker; `startBrokerProcess` adds
 * `--shards 2`, to a broker of an etcd cluster too.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { TEST_SHARDS_ENV, testShardArgs, testShards } from "../support/broker-process.ts";
import { Admin } from "../../src/client/admin.ts";

test("RUNNEL_TEST_SHARDS: the count, and the --shards argument added to runnel start", () => {
  assert.equal(testShards({}), 1);
  assert.equal(testShards({ [TEST_SHARDS_ENV]: "3" }), 3);
  assert.throws(() => testShards({ [TEST_SHARDS_ENV]: "0" }), /RUNNEL_TEST_SHARDS=0: expected a shard count of at least 1/);
  assert.deepEqual(testShardArgs(["--port", "0"], 2), ["--shards", "2"]);
  assert.deepEqual(testShardArgs(["--port", "0"], 1), []);
  assert.deepEqual(testShardArgs(["--shards", "3"], 2), [], "a test that names its shard count keeps it");
  assert.deepEqual(testShardArgs(["-o", "metadata.etcd.endpoints=http://127.0.0.1:2379"], 2), ["--shards", "2"], "a broker of an etcd cluster runs sharded too");
});

test("startTestBroker under RUNNEL_TEST_SHARDS=2 serves a sharded node: topics over the wire, one broker seen, in-process use refused", { timeout: 120_000 }, async () => {
  const before = process.env[TEST_SHARDS_ENV];
  process.env[TEST_SHARDS_ENV] = "2";
  const lines: string[] = [];
  let b;
  try {
    b = await startTestBroker({ "num.partitions": "2" }, undefined, lines);
  } finally {
    if (before === undefined) delete process.env[TEST_SHARDS_ENV];
    else process.env[TEST_SHARDS_ENV] = before;
  }
  const admin = new Admin({ bootstrap: b.bootstrap });
  try {
    await b.broker.createTopic("helper-made", 4, 1, {}, false);
    await admin.connect();
    const described = await admin.describeTopics(["helper-made"]);
    assert.equal(described[0].partitions.length, 4);
    assert.deepEqual([...admin.cluster.brokers.keys()], [1], "clients see the node as one broker");
    assert.throws(() => b.broker.groups, /reaches into the in-process Broker \(broker\.groups\).*RUNNEL_TEST_SHARDS=2.*single-shard only/);
  } finally {
    await admin.close();
    await b.stop();
  }
  assert.ok(lines.some((l) => /front of node 1 listening on PLAINTEXT:\/\/127\.0\.0\.1:\d+ for 2 shards/.test(l)), lines.join("\n"));
});
