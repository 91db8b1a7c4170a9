/**
 * Dynamic broker configs (KIP-226) in a three-broker cluster: a cluster default set through broker 1 is kept in
 * etcd and applied live by the other brokers too. Observed on the wire: a batch above message.max.bytes is
 * refused by the leader on another broker until the raised cluster default reaches it, then accepted.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster, until } from "../support/cluster-processes.ts";
import { RawClient } from "../support/raw-client.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();

const MESSAGE_TOO_LARGE = 10;

test("a cluster-default message.max.bytes set through broker 1 is applied live by a leader on another broker", { skip: ETCD_SKIP_REASON, timeout: 240_000 }, async () => {
  const cluster = await startCluster();
  const opened: RawClient[] = [];
  const connect = async (port: number) => {
    const c = await RawClient.connect(port);
    c.timeoutMs = 30_000;
    opened.push(c);
    return c;
  };
  try {
    const one = await connect(cluster.brokers[0].port);
    await until("three registered brokers", 60_000, async () => (await one.request(3, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).brokers.length === 3);
    const created = await one.request(19, 7, { topics: [{ name: "big", numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, 0, created.topics[0].errorMessage);
    let target: { partition: number; leader: number } | undefined;
    await until("leaders for the topic, one of them not broker 1", 60_000, async () => {
      const md = await one.request(3, 12, { topics: [{ name: "big", topicId: new Uint8Array(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      const p = md.topics[0].partitions.find((x: any) => x.leaderId > 1);
      target = p ? { partition: p.partitionIndex, leader: p.leaderId } : undefined;
      return target !== undefined;
    });
    const leader = await connect(cluster.brokers[target!.leader - 1].port);
    const bb = new BatchBuilder(2 << 20);
    bb.reset({});
    bb.append(Date.now(), null, new Uint8Array(1_500_000).fill(7));
    const records = bb.finish();
    const produce = async () => {
      const r = await leader.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 10_000, topicData: [{ name: "big", partitionData: [{ index: target!.partition, records }] }] });
      return r.responses[0].partitionResponses[0].errorCode as number;
    };
    assert.equal(await produce(), MESSAGE_TOO_LARGE, "1.5 MB is above the default message.max.bytes (1048588)");
    const alter = await one.request(44, 1, { resources: [{ resourceType: 4, resourceName: "", configs: [{ name: "message.max.bytes", configOperation: 0, value: "2000000" }] }], validateOnly: false });
    assert.equal(alter.responses[0].errorCode, 0, alter.responses[0].errorMessage);
    await until(`broker ${target!.leader} to accept 1.5 MB after the cluster default was raised through broker 1`, 30_000, async () => (await produce()) === 0);
  } finally {
    for (const c of opened) c.close();
    await cluster.close();
  }
});
