/**
 * Issue 3 acceptance: while a producer sends with acks=all, the broker process is killed with SIGKILL at a random
 * moment, 20 times over; after every restart each acknowledged record is readable, and offsets continue with no
 * gap and no duplicate. The kill moments come from a seeded generator so a failure can be replayed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { startBrokerProcess } from "../support/broker-process.ts";
import { haveCommand, runProc } from "../support/proc.ts";

const KILLS = 20;
const SEED = Number(process.env.RUNNEL_CRASH_SEED ?? 20261121);
const skip = haveCommand("kcat") ? false : "kcat is not installed (used to read the log back)";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function readAll(bootstrap: string, topic: string): Promise<{ offset: number; value: string }[]> {
  const r = await runProc("kcat", ["-C", "-b", bootstrap, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-u", "-f", "%o %s\n"], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean).map((l) => {
    const [o, v] = l.split(" ");
    return { offset: Number(o), value: v };
  });
}

test(`SIGKILL during acks=all produce, ${KILLS} times: every acknowledged record survives, offsets have no gaps`, { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-crash-"));
  const random = rng(SEED);
  const acked = new Set<string>();
  let next = 0;
  const topic = "crash";
  try {
    for (let round = 0; round < KILLS; round++) {
      const b = await startBrokerProcess("bun", ["--port", "0", "--data-dir", dir, "-o", "num.partitions=1"]);
      try {
        // Everything acknowledged so far must be there, in order, with offsets 0..n-1.
        if (round > 0) {
          const rows = await readAll(b.bootstrap, topic);
          rows.forEach((r, i) => assert.equal(r.offset, i, `round ${round}: offset gap at position ${i}`));
          const values = rows.map((r) => r.value);
          assert.equal(new Set(values).size, values.length, `round ${round}: duplicate records`);
          const present = new Set(values);
          for (const v of acked) assert.ok(present.has(v), `round ${round}: acknowledged record ${v} lost (seed ${SEED})`);
        }
        const kafka = new Kafka({ brokers: [b.bootstrap], clientId: "crash", logLevel: logLevel.NOTHING, retry: { retries: 0 } });
        const producer = kafka.producer({ allowAutoTopicCreation: true, retry: { retries: 0 } });
        await producer.connect();
        const killAfter = 50 + Math.floor(random() * 400);
        let stop = false;
        const loop = (async () => {
          while (!stop) {
            const batch = Array.from({ length: 1 + Math.floor(random() * 20) }, () => `r${next++}`);
            try {
              await producer.send({ topic, acks: -1, messages: batch.map((value) => ({ value })) });
              for (const v of batch) acked.add(v);
            } catch {
              return; // the broker died under us: these records were never acknowledged
            }
          }
        })();
        await new Promise((r) => setTimeout(r, killAfter));
        await b.stop("SIGKILL");
        stop = true;
        await loop;
        await producer.disconnect().catch(() => {});
      } finally {
        await b.stop("SIGKILL");
      }
    }
    const b = await startBrokerProcess("bun", ["--port", "0", "--data-dir", dir]);
    try {
      const rows = await readAll(b.bootstrap, topic);
      rows.forEach((r, i) => assert.equal(r.offset, i));
      const present = new Set(rows.map((r) => r.value));
      for (const v of acked) assert.ok(present.has(v), `acknowledged record ${v} lost (seed ${SEED})`);
      assert.ok(acked.size > KILLS, `the producer got acknowledgements (${acked.size})`);
    } finally {
      await b.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
