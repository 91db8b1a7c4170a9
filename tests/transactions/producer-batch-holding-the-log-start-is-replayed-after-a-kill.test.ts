/**
 * A producer's batch that holds the log start offset (DeleteRecords to the middle of it) is part of the producer state
 * a start rebuilds from the log. Kafka's replay (UnifiedLog.rebuildProducerState) reads each segment from the position
 * of the batch holding its start offset (LogSegment.read) and applies every batch it gets; Runnel's replay skipped a
 * batch whose base offset lay below the log start. After a kill (no clean-stop snapshot, no roll) the restarted broker
 * then knew neither the idempotent producer of that batch, so the batch sent again was appended a second time instead
 * of answered as the duplicate it is, nor the transaction that batch began, so the last stable offset passed the open
 * transaction and read_committed consumers got its records before its end.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startBrokerProcess, type BrokerProcess } from "../support/broker-process.ts";
import { RawClient } from "../support/raw-client.ts";
import { until } from "../support/cluster-processes.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { idempotentBatch, initIdempotent, latestOffset, produce, RawTxnProducer } from "./raw-txn-client.ts";

const TOPIC = "held";

function start(dir: string): Promise<BrokerProcess> {
  return startBrokerProcess("bun", ["--port", "0", "--data-dir", dir, "-o", "log.flush.offset.checkpoint.interval.ms=100", "-o", "transaction.state.log.num.partitions=1"], 60_000);
}

/** Whether every log start offset checkpoint file of `dir` (one per shard) lists `lines` together. */
function checkpointed(dir: string, lines: string[]): boolean {
  const text = fs
    .readdirSync(dir)
    .filter((f) => f.startsWith("log-start-offset-checkpoint"))
    .map((f) => fs.readFileSync(`${dir}/${f}`, "utf8"))
    .join("\n")
    .split("\n");
  return lines.every((l) => text.includes(l));
}

async function activeProducers(c: RawClient, partition: number): Promise<{ producerId: bigint; lastSequence: number }[]> {
  const r = await c.request(61, 0, { topics: [{ name: TOPIC, partitionIndexes: [partition] }] });
  assert.equal(r.topics[0].partitions[0].errorCode, ErrorCode.NONE);
  return r.topics[0].partitions[0].activeProducers.map((a: { producerId: bigint; lastSequence: number }) => ({ producerId: a.producerId, lastSequence: a.lastSequence }));
}

test("after DeleteRecords into a producer's batch and a kill, the batch is replayed: a retry is a duplicate, its open transaction holds the LSO", { timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-log-start-batch-"));
  let b = await start(dir);
  let c = await RawClient.connect(b.port);
  try {
    const created = await c.request(19, 7, { topics: [{ name: TOPIC, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    // Partition 0: an idempotent producer's batch at offsets 0-2.
    const pid = await initIdempotent(c);
    const first = idempotentBatch(pid, 0, 3, Date.now());
    assert.equal((await produce(c, TOPIC, 0, first)).baseOffset, 0n);
    // Partition 1: a transaction left open, its first batch at offsets 0-2.
    const txn = new RawTxnProducer(c, "held-tx");
    assert.equal(await txn.init(), ErrorCode.NONE);
    assert.deepEqual(await txn.add(TOPIC, [1]), [ErrorCode.NONE]);
    assert.equal((await txn.send(TOPIC, 1, ["a", "b", "c"])).errorCode, ErrorCode.NONE);
    const del = await c.request(21, 2, { topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, offset: 1n }, { partitionIndex: 1, offset: 1n }] }], timeoutMs: 10000 });
    assert.deepEqual(del.topics[0].partitions.map((p: { errorCode: number }) => p.errorCode), [ErrorCode.NONE, ErrorCode.NONE]);
    assert.equal(await latestOffset(c, TOPIC, 1, true), 0n, "the open transaction holds the LSO at the base of the log start's batch");
    await until("the log start offsets to be checkpointed", 60_000, async () => checkpointed(dir, [`${TOPIC} 0 1`, `${TOPIC} 1 1`]));
    c.close();
    await b.stop("SIGKILL"); // no clean-stop snapshot; no segment rolled, so none at all
    assert.deepEqual(fs.readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith(".snapshot")), [], "the start has no producer snapshot to load");

    b = await start(dir);
    c = await RawClient.connect(b.port);
    assert.deepEqual(await activeProducers(c, 0), [{ producerId: pid, lastSequence: 2 }], "the replay rebuilt the producer from the batch holding the log start");
    const retry = await produce(c, TOPIC, 0, first);
    assert.deepEqual([retry.errorCode, retry.baseOffset], [ErrorCode.NONE, 0n], "the batch sent again is answered as the duplicate of offsets 0-2");
    assert.equal(await latestOffset(c, TOPIC, 0, false), 3n, "and not appended again");
    assert.equal(await latestOffset(c, TOPIC, 1, true), 0n, "the transaction the batch began is open again: the LSO stays at the log start's batch");
  } finally {
    c.close();
    await b.stop("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
