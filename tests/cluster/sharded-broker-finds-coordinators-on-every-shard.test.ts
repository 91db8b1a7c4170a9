/**
 * FindCoordinator at a sharded broker of an etcd cluster (`runnel start --shards 2` on etcd) names the node for every
 * group and transactional id it coordinates, whichever of its shards holds the coordinator's partition. The shard
 * answering sees a partition of the other shard as led by that shard's sibling id (src/shard/cluster-siblings.ts),
 * which is no registered broker: it must still find its endpoint (the front then names the node). One connection
 * asks for 16 groups and 16 transactional ids, whose partitions spread over both shards; then a kafkajs
 * transactional producer and group consumer whose coordinators are on the shard that did not answer work too.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { startBrokerProcess } from "../support/broker-process.ts";
import { RawClient } from "../support/raw-client.ts";

const skip = ETCD_SKIP_REASON;
const ctx = sharedTestEtcd();
const NODE_ID = 41;
const KEYS = 16;

test("a sharded broker of an etcd cluster answers FindCoordinator with itself for coordinators on either shard", { skip, timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-sharded-coordinators-"));
  const node = await startBrokerProcess("bun", ["--port", "0", "--data-dir", dir, "--shards", "2", "-o", `node.id=${NODE_ID}`, "-o", `metadata.etcd.endpoints=${ctx.etcd.endpoint}`, "-o", "offsets.topic.num.partitions=8", "-o", "transaction.state.log.num.partitions=8", "-o", "group.initial.rebalance.delay.ms=0"], 90_000);
  const raw = await RawClient.connect(node.port);
  try {
    const answers: { key: string; keyType: number; errorCode: number; nodeId: number }[] = [];
    for (const keyType of [0, 1]) {
      for (let i = 0; i < KEYS; i++) {
        const key = `${keyType === 0 ? "group" : "txn"}-${i}`;
        // The first ask of a key type creates its internal topic (COORDINATOR_NOT_AVAILABLE until it has leaders).
        let r: { errorCode: number; nodeId: number };
        for (let tries = 0; ; tries++) {
          r = await raw.request(10, 3, { key, keyType });
          if (r.errorCode === 0 || tries === 100) break;
          if (i > 0) break; // once the topic is up, an error is the answer
          await new Promise((res) => setTimeout(res, 100));
        }
        answers.push({ key, keyType, errorCode: r!.errorCode, nodeId: r!.nodeId });
      }
    }
    assert.deepEqual(answers.filter((a) => a.errorCode !== 0 || a.nodeId !== NODE_ID), [], "every coordinator is this node");

    // Real clients: a transactional producer commits and a group consumer reads it (their coordinators found here).
    const kafka = new Kafka({ clientId: "sharded-coordinators", brokers: [node.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: "t", numPartitions: 2 }] });
    await admin.disconnect();
    for (let i = 0; i < 2; i++) {
      const producer = kafka.producer({ transactionalId: `txn-${i}`, idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const t = await producer.transaction();
      await t.send({ topic: "t", messages: [{ value: `v${i}`, partition: i }] });
      await t.commit();
      await producer.disconnect();
    }
    const consumer = kafka.consumer({ groupId: "group-0", readUncommitted: false });
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: "t", fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.run({ eachMessage: async ({ message }) => void (seen.push(message.value!.toString()) === 2 && resolve()) }).catch(reject);
    });
    await consumer.disconnect();
    assert.deepEqual(seen.sort(), ["v0", "v1"]);
  } finally {
    raw.close();
    assert.equal(await node.stop("SIGTERM"), 0, node.log().slice(-3000));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
