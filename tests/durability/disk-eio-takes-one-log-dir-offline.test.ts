/**
 * A failing disk (EIO) under one of two log dirs, on the forgetful disk (issue 16, KIP-112): confluent-kafka
 * produces with acks=all to a partition on the second dir; once its writes and fsyncs fail with EIO that dir goes
 * offline (DescribeLogDirs says KAFKA_STORAGE_ERROR), the partition on the first dir keeps taking records (kcat),
 * and after the disk is healthy again and the broker restarts every acknowledged record is at its offset.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { ROOT, startBrokerProcess, type BrokerProcess } from "../support/broker-process.ts";
import { PYTHON, runProc } from "../support/proc.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { forgetfulDiskForPowerCutTests } from "./forgetful-disk.ts";
import { ackedNotPresent, brokerLogLine, logDirErrors, parseAcks, partitionInEachDir, readPartition } from "./read-partition.ts";

const TOPIC = "failing";
const VALUE_BYTES = 1024;
const forgetful = await forgetfulDiskForPowerCutTests();

function startBroker(a: string, b: string): Promise<BrokerProcess> {
  const runtime = fs.existsSync(path.join(ROOT, "dist/runnel")) ? "binary" : "bun";
  return startBrokerProcess(runtime, ["--port", "0", "-o", `log.dirs=${a},${b}`, "-o", "num.partitions=2"], 60_000);
}

test("EIO under one of two log dirs takes it offline; the other keeps serving and nothing acknowledged is lost", { skip: forgetful.skip, timeout: 300_000 }, async () => {
  const disk = forgetful.disk();
  const [dirA, dirB] = [path.join(disk.dir, "eio-a"), path.join(disk.dir, "eio-b")];
  let b = await startBroker(dirA, dirB);
  try {
    const { inA, inB } = await partitionInEachDir(b.port, TOPIC, dirA, dirB);
    const child = spawn(PYTHON, [path.join(import.meta.dirname, "acked_producer.py"), b.bootstrap, TOPIC, "k", String(VALUE_BYTES), String(inB)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let acks = 0;
    const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
    const enough = new Promise<void>((resolve) =>
      child.stdout!.on("data", (d) => {
        out += d.toString();
        acks = out.split("\n").length - 1;
        if (acks >= 300) resolve();
      }),
    );
    try {
      await Promise.race([enough, closed]);
      assert.ok(acks >= 300, `acknowledged ${acks} records before the disk failed`);
      disk.failWithEio(dirB);
      await brokerLogLine(b, new RegExp(`log dir ${dirB} is offline`), 60_000, "log dir offline line");
    } finally {
      child.kill("SIGKILL");
      await closed;
    }
    const acked = parseAcks(out);
    const errors = await logDirErrors(b.port);
    assert.equal(errors.get(dirB), ErrorCode.KAFKA_STORAGE_ERROR, "DescribeLogDirs reports the failing dir offline");
    assert.equal(errors.get(dirA), ErrorCode.NONE);
    const p = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", TOPIC, "-p", String(inA), "-X", "request.required.acks=-1"], { input: "still-served\n", timeoutMs: 60_000 });
    assert.equal(p.code, 0, `the healthy dir keeps taking writes: ${p.stderr}`);

    disk.failWithEio(null);
    await b.stop("SIGKILL");
    b = await startBroker(dirA, dirB);
    const present = await readPartition(b.port, TOPIC, inB, VALUE_BYTES);
    const lost = ackedNotPresent(acked, present);
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${acked.size} acknowledged records lost`);
  } finally {
    disk.failWithEio(null);
    await b.stop("SIGKILL");
  }
});
