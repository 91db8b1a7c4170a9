/**
 * WriteTxnMarkers from a client at the front of a 2-shard node: a confluent-kafka producer leaves a transaction
 * open on partitions of both shards (it exits without ending it), so read_committed consumers are stuck at offset
 * 0; Kafka 4.4's `kafka-transactions abort --topic --partition --start-offset` (Admin.abortTransaction: it sends
 * WriteTxnMarkers to the partition's leader, the node) aborts it on each partition's shard and the last stable
 * offset moves to the end.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { BrokerConfig } from "../../src/broker/config.ts";
import { startShardedNode } from "../../src/shard/sharded-node.ts";
import { RawClient } from "../support/raw-client.ts";
import { testLogger } from "../support/broker.ts";
import { topicOnTwoShards } from "./support.ts";
import { PYTHON, havePythonModule, runProc } from "../support/proc.ts";
import { KAFKA_TOOL, javaSkip, startToolSession } from "../support/java.ts";

const skip = javaSkip || ((await havePythonModule("confluent_kafka")) ? false : "python module confluent_kafka is not installed (tests/setup.sh installs it as root)");
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "py_hanging_transaction.py");

/** The offsets ListOffsets gives for `partitions` at `isolationLevel` (0: latest, 1: last stable). */
async function endOffsets(c: RawClient, topic: string, isolationLevel: number): Promise<number[]> {
  const res = await c.request(2, 7, { replicaId: -1, isolationLevel, topics: [{ name: topic, partitions: [0, 1].map((p) => ({ partitionIndex: p, currentLeaderEpoch: -1, timestamp: -1n })) }] });
  const parts = res.topics[0].partitions as { partitionIndex: number; errorCode: number; offset: bigint }[];
  assert.ok(parts.every((p) => p.errorCode === 0), JSON.stringify(parts, (_, v) => (typeof v === "bigint" ? String(v) : v)));
  return parts.sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => Number(p.offset));
}

test("kafka-transactions abort ends a hanging transaction on partitions of both shards", { skip, timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-front-abort-"));
  const config = new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir], ["runnel.shards", "2"], ["node.id", "3"]]));
  const node = await startShardedNode(config, { logger: testLogger() });
  const c = await RawClient.connect(node.port());
  const tools = startToolSession();
  try {
    const bootstrap = `127.0.0.1:${node.port()}`;
    const topic = await topicOnTwoShards(c, node.shards, "hang");
    const r = await runProc(PYTHON, [SCRIPT, bootstrap, topic], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /written/);
    assert.deepEqual(await endOffsets(c, topic, 0), [3, 3]);
    assert.deepEqual(await endOffsets(c, topic, 1), [0, 0], "the open transaction holds the last stable offsets");

    for (const partition of ["0", "1"]) {
      const abort = await tools.run(KAFKA_TOOL.transactions, ["--bootstrap-server", bootstrap, "abort", "--topic", topic, "--partition", partition, "--start-offset", "0"]);
      assert.equal(abort.code, 0, `${abort.stdout}\n${abort.stderr}`);
    }
    // Each partition got its abort marker (offset 3), and nothing holds the last stable offset any more.
    assert.deepEqual(await endOffsets(c, topic, 0), [4, 4]);
    assert.deepEqual(await endOffsets(c, topic, 1), [4, 4]);
  } finally {
    await tools.close();
    c.close();
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
