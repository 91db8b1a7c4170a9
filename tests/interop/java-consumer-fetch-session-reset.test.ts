/**
 * Kafka's Java KafkaConsumer with fetch sessions (KIP-227) reading 24 partitions while records keep coming, its
 * long polls timing out client-side between rounds (request.timeout.ms below fetch.max.wait.ms): after each failed
 * fetch the client resets its session with id N / epoch 0 (FetchSessionHandler.handleError), which must close N and
 * open a new session. Every record arrives once, in order per partition (tests/java/src/runnel/SessionConsumer.java).
 * Before the broker took epoch 0 as a reset it answered INVALID_FETCH_SESSION_EPOCH, the client sent the same reset
 * again, and no record after the first time-out was ever delivered.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { javaSkip, spawnJava } from "../support/java.ts";
import { startTestBroker } from "../support/broker.ts";
import { Admin } from "../../src/client/admin.ts";
import { Producer } from "../../src/client/producer.ts";

const PARTITIONS = 24;
const ROUNDS = 5;

test("Java consumer: every record once and in order across fetch session resets after client-side fetch time-outs", { skip: javaSkip, timeout: 180_000 }, async () => {
  const b = await startTestBroker();
  const admin = new Admin({ bootstrap: b.bootstrap, clientId: "session-reset" });
  const producer = new Producer({ bootstrap: b.bootstrap, clientId: "session-reset", acks: 1, lingerMs: 0 });
  let consumer: ReturnType<typeof spawnJava> | undefined;
  try {
    await admin.connect();
    await admin.createTopics([{ name: "sr", numPartitions: PARTITIONS, replicationFactor: 1 }]);
    await producer.connect();
    consumer = spawnJava("runnel.SessionConsumer", [
      "--bootstrap", b.bootstrap, "--topic", "sr", "--partitions", String(PARTITIONS), "--records", String(PARTITIONS * ROUNDS),
      "--prop", "fetch.max.wait.ms=1500", "--prop", "request.timeout.ms=700", "--prop", "reconnect.backoff.ms=10",
    ]);
    const c = consumer;
    const progress = (pred: (e: { records: number; disconnects: number }) => boolean, what: string) =>
      c.waitFor((e) => e.event === "progress" && pred(e as never), 60_000, what);
    let disconnects = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => producer.send({ topic: "sr", partition: p, value: `${p}:${round}` })));
      await progress((e) => e.records >= PARTITIONS * (round + 1), `round ${round} consumed`);
      if (round === ROUNDS - 1) break;
      // Nothing more to read: the consumer's next long poll outlives its request time-out, fails, and the client
      // resets its fetch session before the next round is produced.
      const e = await progress((e) => e.disconnects > disconnects, `a fetch timing out after round ${round}`);
      disconnects = e.disconnects;
    }
    const done = await c.waitFor((e) => e.event === "done" || e.event === "error", 60_000, "the consumer to finish");
    assert.equal(done.event, "done", `consumer: ${JSON.stringify(done)}`);
    assert.equal(done.records, PARTITIONS * ROUNDS, "every record once");
    assert.deepEqual(c.events.filter((e) => e.event === "bad"), [], "no record out of order or repeated");
    assert.ok(disconnects >= ROUNDS - 1, `${disconnects} fetches failed client-side, each followed by a session reset`);
  } finally {
    await consumer?.kill();
    await producer.close({ timeoutMs: 5000 }).catch(() => {});
    await admin.close().catch(() => {});
    await b.stop();
  }
});
