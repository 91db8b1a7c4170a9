/**
 * Issue 16 acceptance 5 (KIP-112): two 16 MiB tmpfs mounts are the broker's two log.dirs. confluent-kafka produces
 * with acks=all to a partition on the second until that disk is full: the broker takes that log dir offline (its
 * partition answers KAFKA_STORAGE_ERROR, DescribeLogDirs reports the dir with KAFKA_STORAGE_ERROR) while the
 * partition on the first dir keeps taking and serving records (kcat). After space is freed and the broker
 * restarts, every acknowledged record is readable at its acknowledged offset.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { ROOT, startBrokerProcess, type BrokerProcess } from "../support/broker-process.ts";
import { haveCommand, havePythonModule, PYTHON, runProc } from "../support/proc.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { ackedNotPresent, brokerLogLine, logDirErrors, parseAcks, partitionInEachDir, readPartition } from "./read-partition.ts";

const TOPIC = "full";
const VALUE_BYTES = 4096;
const PRODUCER = path.join(import.meta.dirname, "acked_producer.py");
/** Connections that each ask Metadata (a sharded node's accepting threads each answer from their own view). */
const METADATA_CONNECTIONS = 12;

const skip =
  (process.getuid?.() !== 0 && "mounting tmpfs log dirs needs root: disk-full test skipped") ||
  (!haveCommand("kcat") && "kcat is not installed: disk-full test skipped") ||
  (!(await havePythonModule("confluent_kafka")) && "python3-confluent-kafka is not installed: disk-full test skipped");

async function mountTmpfs(dir: string): Promise<void> {
  fs.mkdirSync(dir);
  const r = await runProc("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", dir], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, `mount tmpfs on ${dir}: ${r.stderr}`);
}

function startBroker(a: string, b: string): Promise<BrokerProcess> {
  const runtime = fs.existsSync(path.join(ROOT, "dist/runnel")) ? "binary" : "bun";
  return startBrokerProcess(runtime, ["--port", "0", "-o", `log.dirs=${a},${b}`, "-o", "num.partitions=2"], 60_000);
}

test("a full disk takes one of two log dirs offline; the other keeps serving and nothing acknowledged is lost", { skip, timeout: 300_000 }, async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-diskfull-"));
  const [dirA, dirB] = [path.join(base, "a"), path.join(base, "b")];
  const mounted: string[] = [];
  let b: BrokerProcess | null = null;
  try {
    for (const d of [dirA, dirB]) {
      await mountTmpfs(d);
      mounted.push(d);
    }
    const ballast = path.join(dirB, "ballast");
    fs.writeFileSync(ballast, new Uint8Array(4 << 20));
    b = await startBroker(dirA, dirB);

    // Fill dir B through a partition that lives there.
    const { inA, inB } = await partitionInEachDir(b.port, TOPIC, dirA, dirB);
    const child = spawn(PYTHON, [PRODUCER, b.bootstrap, TOPIC, "k", String(VALUE_BYTES), String(inB)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d.toString()));
    const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
    try {
      await brokerLogLine(b, new RegExp(`log dir ${dirB} is offline`), 120_000, "log dir offline line");
    } finally {
      child.kill("SIGKILL");
      await closed;
    }
    const acked = parseAcks(out);
    assert.ok(acked.size > 1000, `acknowledged ${acked.size} records before the disk filled`);

    const c = await RawClient.connect(b.port);
    try {
      const byDir = await logDirErrors(b.port);
      assert.equal(byDir.get(dirB), ErrorCode.KAFKA_STORAGE_ERROR, "DescribeLogDirs reports the full dir offline");
      assert.equal(byDir.get(dirA), ErrorCode.NONE);
      const fetched = await c.request(1, 12, {
        maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: TOPIC, partitions: [{ partition: inB, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: "",
      });
      assert.equal(fetched.responses[0].partitions[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR, "the offline partition answers KAFKA_STORAGE_ERROR");
      // Metadata lists the broker as an offline replica on every connection: on a sharded node each accepting
      // thread answers from its own shard, which hears of another shard's offline replica through the host, so
      // several connections (the kernel spreads them over the threads) ask, each until it shows.
      const offlineReplicas = async (conn: RawClient) => {
        const md = await conn.request(3, 12, { topics: [{ name: TOPIC, topicId: new Uint8Array(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
        return new Map<number, number[]>(md.topics[0].partitions.map((p: { partitionIndex: number; offlineReplicas: number[] }) => [p.partitionIndex, p.offlineReplicas]));
      };
      for (let n = 0; n < METADATA_CONNECTIONS; n++) {
        const conn = n === 0 ? c : await RawClient.connect(b.port);
        try {
          let offline = await offlineReplicas(conn);
          for (let i = 0; i < 300 && offline.get(inB)?.length !== 1; i++) {
            await new Promise((r) => setTimeout(r, 100));
            offline = await offlineReplicas(conn);
          }
          assert.deepEqual(offline.get(inB), [1], `connection ${n}: Metadata lists the broker as an offline replica of the partition on the full disk`);
          assert.deepEqual(offline.get(inA), []);
        } finally {
          if (conn !== c) conn.close();
        }
      }
    } finally {
      c.close();
    }

    // The other log dir keeps serving: kcat writes with acks=all and reads back.
    const lines = Array.from({ length: 50 }, (_, i) => `still-${i}`).join("\n") + "\n";
    const p = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", TOPIC, "-p", String(inA), "-X", "request.required.acks=-1"], { input: lines, timeoutMs: 60_000 });
    assert.equal(p.code, 0, p.stderr);
    const r = await runProc("kcat", ["-C", "-b", b.bootstrap, "-t", TOPIC, "-p", String(inA), "-o", "beginning", "-e", "-q"], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), lines.trim().split("\n"));

    // Free space and restart: every acknowledged record is there, at its offset.
    await b.stop();
    fs.rmSync(ballast);
    b = await startBroker(dirA, dirB);
    const present = await readPartition(b.port, TOPIC, inB, VALUE_BYTES);
    const lost = ackedNotPresent(acked, present);
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${acked.size} acknowledged records lost`);
    const again = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", TOPIC, "-p", String(inB), "-X", "request.required.acks=-1"], { input: "after-restart\n", timeoutMs: 60_000 });
    assert.equal(again.code, 0, `the freed dir takes writes again: ${again.stderr}`);
  } finally {
    await b?.stop("SIGKILL");
    for (const d of mounted) await runProc("umount", ["-l", d], { timeoutMs: 20_000 });
    fs.rmSync(base, { recursive: true, force: true });
  }
});
