/**
 * sarama (IBM/sarama v1.61): its ClusterAdmin (topics, configs, partitions, cluster, group offsets, groups,
 * DeleteRecords, ListOffsets, log dirs) answers as Kafka does, and its transactional SyncProducer commits and aborts
 * transactions that a read_committed consumer and a read_uncommitted consumer read back correctly
 * (tests/go/peer/sarama_admin_txn.go).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { goSkip, runGo } from "../support/go.ts";
import { topicPartitionCount } from "../support/topic-state.ts";
import { storySteps } from "../support/json-process.ts";

test("sarama ClusterAdmin calls and transactional producer with read_committed", { skip: goSkip, timeout: 120_000 }, async () => {
  const b = await startTestBroker({ "transaction.state.log.num.partitions": "3" });
  try {
    const r = await runGo("sarama-admin-txn", ["-bootstrap", b.bootstrap]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { result, error } = storySteps(r.stdout);
    assert.equal(result("CreateTopic"), null);
    assert.match(error("CreateTopic-existing"), /Topic with this name already exists/);
    assert.deepEqual(result("ListTopics"), { partitions: 2, rf: 1, "retention.ms": "3600000" });
    assert.deepEqual(result("DescribeConfig"), {
      "cleanup.policy": { value: "delete", source: "Default", default: true },
      "retention.ms": { value: "3600000", source: "Topic", default: false },
    });
    assert.equal(result("IncrementalAlterConfig"), "7200000");
    assert.equal(result("CreatePartitions"), 3);
    assert.deepEqual(result("DescribeCluster"), { brokers: 1, addr: b.bootstrap, controller: 1 });

    const txn = result("Transactions");
    const run = (prefix: string) => [0, 1, 2, 3, 4].map((i) => `${prefix}-${i}`);
    assert.deepEqual(txn.readCommitted, [...run("committed"), ...run("committed-again")], "read_committed: the committed transactions only, in order");
    assert.deepEqual(txn.readUncommitted, [...run("committed"), ...run("aborted"), ...run("committed-again")], "read_uncommitted: every record, no markers");

    assert.equal(result("AlterConsumerGroupOffsets"), null);
    assert.deepEqual(result("ListConsumerGroups"), { "sar-g": "" });
    assert.deepEqual(result("DescribeConsumerGroups"), { state: "Empty", protocolType: "", members: 0, err: null });
    assert.deepEqual(result("ListConsumerGroupOffsets"), { "0": [4, "by sarama", null], "1": [-1, "", null] });
    assert.equal(result("DeleteConsumerGroupOffset"), null);
    assert.equal(result("DeleteConsumerGroup"), null);
    assert.equal(result("DeleteRecords"), null);
    assert.equal(result("ListOffsets"), 3, "the log start offset after DeleteRecords");
    const dirs: string[] = result("DescribeLogDirs");
    assert.deepEqual(dirs.filter((n) => n.startsWith("sar-a")), ["sar-a-0", "sar-a-1", "sar-a-2"]);
    assert.equal(result("DeleteTopic"), null);
    assert.equal(await topicPartitionCount(b.port, "sar-a"), null);
  } finally {
    await b.stop();
  }
});
