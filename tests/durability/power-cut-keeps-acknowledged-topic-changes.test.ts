/**
 * Topic changes a client saw succeed survive a power cut (issue 16): on the forgetful disk, a topic created with
 * CreateTopics is there after the cut and restart, with all its partitions, the records acknowledged into them and
 * taking writes; a topic deleted with
 * DeleteTopics stays deleted. The cut comes right after the acknowledgement, so only what was fsynced counts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT, startBrokerProcess, type BrokerProcess } from "../support/broker-process.ts";
import { PYTHON, runProc } from "../support/proc.ts";
import { forgetfulDiskForPowerCutTests } from "./forgetful-disk.ts";

const ADMIN = path.join(import.meta.dirname, "topic_admin.py");
const forgetful = await forgetfulDiskForPowerCutTests();
const skip = forgetful.skip;

function startBroker(dataDir: string): Promise<BrokerProcess> {
  const runtime = fs.existsSync(path.join(ROOT, "dist/runnel")) ? "binary" : "bun";
  return startBrokerProcess(runtime, ["--port", "0", "--data-dir", dataDir, "-o", "auto.create.topics.enable=false"], 60_000);
}

async function admin(b: BrokerProcess, ...args: string[]): Promise<string> {
  const r = await runProc(PYTHON, [ADMIN, b.bootstrap, ...args], { timeoutMs: 90_000 });
  assert.equal(r.code, 0, `${args.join(" ")}: ${r.stdout}${r.stderr}\n${b.log().slice(-2000)}`);
  return r.stdout;
}

async function cutAndRestart(b: BrokerProcess, dataDir: string): Promise<BrokerProcess> {
  await b.stop("SIGKILL");
  forgetful.disk().cut();
  return startBroker(dataDir);
}

test("a created topic survives a power cut right after CreateTopics answers; a deleted one stays deleted", { skip, timeout: 300_000 }, async () => {
  const dataDir = path.join(forgetful.disk().dir, "topics");
  let b = await startBroker(dataDir);
  try {
    await admin(b, "create", "kept", "3");
    const produce = async (p: number, value: string) => {
      const r = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", "kept", "-p", String(p), "-X", "request.required.acks=-1"], { input: `${value}\n`, timeoutMs: 60_000 });
      assert.equal(r.code, 0, `partition ${p} takes writes: ${r.stderr}\n${b.log().slice(-2000)}`);
    };
    for (let p = 0; p < 3; p++) await produce(p, `before-cut-${p}`);
    b = await cutAndRestart(b, dataDir);
    assert.deepEqual(JSON.parse(await admin(b, "list")), { kept: 3 });
    for (let p = 0; p < 3; p++) {
      await produce(p, `after-cut-${p}`);
      const r = await runProc("kcat", ["-C", "-b", b.bootstrap, "-t", "kept", "-p", String(p), "-o", "beginning", "-e", "-q"], { timeoutMs: 60_000 });
      assert.deepEqual(r.stdout.trim().split("\n"), [`before-cut-${p}`, `after-cut-${p}`], `partition ${p} kept its acknowledged record`);
    }
    await admin(b, "create", "doomed", "2");
    b = await cutAndRestart(b, dataDir);
    await admin(b, "delete", "doomed");
    b = await cutAndRestart(b, dataDir);
    assert.deepEqual(JSON.parse(await admin(b, "list")), { kept: 3 });
    assert.deepEqual(fs.readdirSync(dataDir).filter((n) => n.startsWith("doomed")), [], "no partition directory of the deleted topic is left");
  } finally {
    await b.stop("SIGKILL");
  }
});
