/**
 * Issue 13 acceptance, Kafka Streams (4.4): a word count with a persistent state store (repartition topic, compacted
 * changelog), processing.guarantee=exactly_once_v2, produces the right counts although the broker is restarted in
 * the middle of the run (same port, same data directory). Read with read_committed, every word's counts rise
 * strictly (nothing counted twice) and end at the number of times it was produced.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { topicOverride, topicPartitionCount } from "../support/topic-state.ts";
import { javaSkip, spawnJava } from "../support/java.ts";
import { Producer } from "../../src/client/producer.ts";
import { Consumer } from "../../src/client/consumer.ts";

const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"];
const BROKER_CONFIG = { "transaction.state.log.num.partitions": "3", "group.min.session.timeout.ms": "1000" };

/** Line i: five words picked deterministically. */
const line = (i: number) => [0, 1, 2, 3, 4].map((j) => WORDS[(i * 7 + j * j * 3 + (i >> 3)) % WORDS.length]).join(" ");

async function produceLines(bootstrap: string, from: number, count: number): Promise<void> {
  const p = new Producer({ bootstrap, acks: "all", lingerMs: 5 });
  await p.connect();
  await Promise.all([...Array(count).keys()].map((i) => p.send({ topic: "wc-input", key: `line-${from + i}`, value: line(from + i) })));
  await p.close();
}

/** Reads wc-output with read_committed until `done(counts)` holds; returns every word's counts in order. */
async function readCounts(bootstrap: string, done: (latest: Map<string, bigint>) => boolean, timeoutMs: number): Promise<Map<string, bigint[]>> {
  const c = new Consumer({ bootstrap, isolationLevel: "read_committed", autoOffsetReset: "earliest", fetchMaxWaitMs: 200 });
  await c.connect();
  c.assign([0, 1, 2].map((partition) => ({ topic: "wc-output", partition })));
  const seq = new Map<string, bigint[]>();
  const latest = new Map<string, bigint>();
  const deadline = Date.now() + timeoutMs;
  try {
    while (!done(latest)) {
      if (Date.now() > deadline) throw new Error(`timed out; counts so far: ${JSON.stringify(Object.fromEntries([...latest].map(([k, v]) => [k, Number(v)])))}`);
      for (const r of await c.poll(500)) {
        const word = new TextDecoder().decode(r.key!);
        const count = new DataView(r.value!.buffer, r.value!.byteOffset, 8).getBigInt64(0);
        (seq.get(word) ?? seq.set(word, []).get(word)!).push(count);
        latest.set(word, count);
      }
    }
  } finally {
    await c.close();
  }
  return seq;
}

test("Kafka Streams word count, exactly_once_v2, survives a broker restart mid-run", { skip: javaSkip, timeout: 300_000 }, async () => {
  let b: TestBroker = await startTestBroker(BROKER_CONFIG);
  const port = b.port;
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-streams-"));
  const app = spawnJava("runnel.WordCount", ["--bootstrap", b.bootstrap, "--app-id", "wc-app", "--input", "wc-input", "--output", "wc-output", "--state-dir", stateDir]);
  try {
    await b.broker.createTopic("wc-input", 3, 1, {}, false);
    await b.broker.createTopic("wc-output", 3, 1, {}, false);
    await app.waitFor((e) => e.event === "state" && e.state === "RUNNING", 120_000, "the Streams app to run");
    const expected = new Map<string, bigint>();
    const total = 900;
    for (let i = 0; i < total; i++) for (const w of line(i).split(" ")) expected.set(w, (expected.get(w) ?? 0n) + 1n);

    await produceLines(b.bootstrap, 0, 300);
    await readCounts(b.bootstrap, (latest) => latest.size > 0, 120_000);
    const inFlight = produceLines(b.bootstrap, 300, 300);
    await inFlight;
    await b.stop({ keepDir: true });
    b = await startTestBroker({ ...BROKER_CONFIG, listeners: `PLAINTEXT://127.0.0.1:${port}` }, b.dir);
    await produceLines(b.bootstrap, 600, 300);

    const seq = await readCounts(b.bootstrap, (latest) => WORDS.every((w) => latest.get(w) === expected.get(w)), 180_000);
    for (const [w, counts] of seq) {
      for (let i = 1; i < counts.length; i++) assert.ok(counts[i] > counts[i - 1], `${w}: counts rise strictly (${counts.join(",")})`);
      assert.equal(counts.at(-1), expected.get(w), w);
    }
    assert.notEqual(await topicPartitionCount(b.port, "wc-app-by-word-repartition"), null, "the repartition topic exists");
    assert.equal(await topicOverride(b.port, "wc-app-word-counts-changelog", "cleanup.policy"), "compact", "the changelog is compacted");
    assert.deepEqual(app.events.filter((e) => e.event === "thread-error"), [], "no stream thread died");
  } finally {
    app.send("close");
    await Promise.race([app.exited, new Promise((r) => setTimeout(r, 30_000))]);
    await app.kill();
    await b.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});
