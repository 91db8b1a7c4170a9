/**
 * A failing disk (EIO) under one of two log dirs of a sharded node (`--shards 2`, on the forgetful disk; KIP-112):
 * both shards have partitions in the failing dir. A write to a partition of one shard there fails, and the whole
 * dir goes offline at once, as Kafka's ReplicaManager.handleLogDirFailure takes it: the other shard's partition in
 * it answers KAFKA_STORAGE_ERROR and Metadata lists the node as its offline replica on every accepting thread,
 * although nothing was written to it (the node's periodic checkpoints, which would write to it, are set an hour
 * apart). The other dir keeps serving.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT, startBrokerProcess, type BrokerProcess } from "../support/broker-process.ts";
import { runProc } from "../support/proc.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { shardOf } from "../../src/shard/placement.ts";
import { forgetfulDiskForPowerCutTests } from "./forgetful-disk.ts";
import { brokerLogLine, logDirErrors } from "./read-partition.ts";

const TOPIC = "spread";
const PARTITIONS = 8;
const SHARDS = 2;
/** Connections that ask for Metadata (the kernel spreads them over the node's accepting threads). */
const METADATA_CONNECTIONS = 4;
const HOUR_MS = "3600000";
const forgetful = await forgetfulDiskForPowerCutTests();

function startNode(a: string, b: string): Promise<BrokerProcess> {
  const runtime = fs.existsSync(path.join(ROOT, "dist/runnel")) ? "binary" : "bun";
  return startBrokerProcess(runtime, [
    "--port", "0", "--shards", String(SHARDS), "-o", `log.dirs=${a},${b}`,
    "-o", `log.flush.offset.checkpoint.interval.ms=${HOUR_MS}`, "-o", `replica.high.watermark.checkpoint.interval.ms=${HOUR_MS}`,
  ], 60_000);
}

/** Creates the topic and waits until every partition has its directory; the log dir of each partition. */
async function createSpread(port: number, dirs: readonly string[]): Promise<string[]> {
  const c = await RawClient.connect(port);
  try {
    const r = await c.request(19, 7, { topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false });
    assert.equal(r.topics[0].errorCode, 0, `CreateTopics ${TOPIC}`);
  } finally {
    c.close();
  }
  const where = (p: number) => dirs.find((d) => fs.existsSync(path.join(d, `${TOPIC}-${p}`)));
  const deadline = Date.now() + 30_000;
  const all = Array.from({ length: PARTITIONS }, (_, p) => p);
  while (all.some((p) => where(p) === undefined)) {
    if (Date.now() > deadline) throw new Error(`the partitions of ${TOPIC} got no directories in 30 s`);
    await new Promise((res) => setTimeout(res, 50));
  }
  return all.map((p) => where(p)!);
}

/** Metadata's offline replicas of each partition of the topic, asked on `conn`. */
async function offlineReplicas(conn: RawClient): Promise<Map<number, number[]>> {
  const md = await conn.request(3, 12, { topics: [{ name: TOPIC, topicId: new Uint8Array(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  return new Map<number, number[]>(md.topics[0].partitions.map((p: { partitionIndex: number; offlineReplicas: number[] }) => [p.partitionIndex, p.offlineReplicas]));
}

test("EIO under one shard's write takes the whole log dir offline on every shard of the node", { skip: forgetful.skip, timeout: 300_000 }, async () => {
  const disk = forgetful.disk();
  const [dirA, dirB] = [path.join(disk.dir, "shard-eio-a"), path.join(disk.dir, "shard-eio-b")];
  const b = await startNode(dirA, dirB);
  try {
    const dirOf = await createSpread(b.port, [dirA, dirB]);
    const inB = dirOf.flatMap((d, p) => (d === dirB ? [p] : []));
    const written = inB[0];
    assert.notEqual(written, undefined, `some partition of ${TOPIC} is in ${dirB}: ${dirOf.join(", ")}`);
    const writer = shardOf(TOPIC, written, SHARDS);
    const untouched = inB.find((p) => shardOf(TOPIC, p, SHARDS) !== writer);
    assert.notEqual(untouched, undefined, `both shards have a partition in ${dirB} (${inB.join(", ")})`);
    const other = shardOf(TOPIC, untouched!, SHARDS);
    const inA = dirOf.findIndex((d) => d === dirA);
    assert.ok(inA >= 0, `some partition of ${TOPIC} is in ${dirA}`);

    disk.failWithEio(dirB);
    // one write, to shard `writer`'s partition; its answer does not matter (the disk failed under it)
    await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", TOPIC, "-p", String(written), "-X", "request.required.acks=-1", "-X", "message.timeout.ms=20000"], { input: "doomed\n", timeoutMs: 60_000 });
    await brokerLogLine(b, new RegExp(`\\[shard ${writer}\\] log dir ${dirB} is offline`), 60_000, "the writing shard's log dir offline line");
    // the other shard, which wrote nothing there, takes the dir offline too
    await brokerLogLine(b, new RegExp(`\\[shard ${other}\\] log dir ${dirB} is offline`), 60_000, `shard ${other}'s log dir offline line`);

    const errors = await logDirErrors(b.port);
    assert.equal(errors.get(dirB), ErrorCode.KAFKA_STORAGE_ERROR, "DescribeLogDirs reports the failing dir offline");
    assert.equal(errors.get(dirA), ErrorCode.NONE);
    const c = await RawClient.connect(b.port);
    try {
      const fetched = await c.request(1, 12, {
        maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: TOPIC, partitions: [{ partition: untouched!, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: "",
      });
      assert.equal(fetched.responses[0].partitions[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR, `partition ${untouched} (shard ${other}) answers KAFKA_STORAGE_ERROR`);
    } finally {
      c.close();
    }
    // Every accepting thread's Metadata lists the node (id 1) offline for every partition in the dir, of both shards
    // (relayed between the threads: asked on each connection until it shows), and for none in the other dir.
    for (let n = 0; n < METADATA_CONNECTIONS; n++) {
      const conn = await RawClient.connect(b.port);
      try {
        const complete = (m: Map<number, number[]>) => inB.every((p) => m.get(p)?.length === 1);
        let offline = await offlineReplicas(conn);
        for (let i = 0; i < 300 && !complete(offline); i++) {
          await new Promise((r) => setTimeout(r, 100));
          offline = await offlineReplicas(conn);
        }
        for (const p of inB) assert.deepEqual(offline.get(p), [1], `connection ${n}: partition ${p} (shard ${shardOf(TOPIC, p, SHARDS)}) listed offline`);
        assert.deepEqual(offline.get(inA), [], `connection ${n}: partition ${inA} in ${dirA} is online`);
      } finally {
        conn.close();
      }
    }

    // The other log dir keeps serving.
    const p = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", TOPIC, "-p", String(inA), "-X", "request.required.acks=-1"], { input: "still-served\n", timeoutMs: 60_000 });
    assert.equal(p.code, 0, `the healthy dir keeps taking writes: ${p.stderr}`);
  } finally {
    disk.failWithEio(null);
    await b.stop("SIGKILL");
  }
});
