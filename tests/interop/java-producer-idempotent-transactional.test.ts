/**
 * Issue 13 acceptance, Kafka's Java KafkaProducer (4.4): an idempotent acks=all producer gets every record
 * acknowledged at contiguous offsets with no duplicates; a transactional producer's committed records are read by
 * a read_committed consumer and its aborted ones are not; a second producer with the same transactional.id fences
 * the first (ProducerFencedException). read_uncommitted sees the aborted records too.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { javaSkip, runJava } from "../support/java.ts";
import { jsonLines } from "../support/json-process.ts";

const COUNT = 1000;

test("Java KafkaProducer: idempotent acks=all, transactions commit/abort/fence, read_committed", { skip: javaSkip, timeout: 180_000 }, async () => {
  const b = await startTestBroker();
  try {
    await b.broker.createTopic("java-idem", 3, 1, {}, false);
    await b.broker.createTopic("java-txn", 2, 1, {}, false);
    const r = await runJava("runnel.Producers", ["--bootstrap", b.bootstrap, "--idem-topic", "java-idem", "--txn-topic", "java-txn", "--count", String(COUNT)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const ev = jsonLines(r.stdout);
    const byName = (n: string) => ev.filter((e) => e.event === n);

    const acks: [number, number, number][] = byName("idempotent")[0].acks;
    assert.equal(acks.length, COUNT);
    const offsets = new Map<number, number[]>();
    for (const [, p, o] of acks) (offsets.get(p) ?? offsets.set(p, []).get(p)!).push(o);
    assert.equal(offsets.size, 3, "keys spread over the 3 partitions");
    for (const [p, list] of offsets) assert.deepEqual([...list].sort((x, y) => x - y), list.map((_, i) => i), `partition ${p} offsets contiguous from 0`);

    assert.equal(byName("transactions")[0].fenced, "ProducerFencedException");

    const [committed, uncommitted] = byName("read");
    assert.equal(committed.isolation, "read_committed");
    const committedValues = Object.values(committed.values as Record<string, string[]>).flat();
    const expected = [...Array(COUNT).keys()].map((i) => `committed-${i}`).concat("after-fence");
    assert.deepEqual([...committedValues].sort(), [...expected].sort(), "read_committed sees exactly the committed records");
    const allValues = Object.values(uncommitted.values as Record<string, string[]>).flat();
    assert.equal(allValues.filter((v) => v.startsWith("aborted-")).length, COUNT, "read_uncommitted also sees the aborted records");
    assert.equal(allValues.filter((v) => v === "fenced-attempt").length, 1);
    assert.equal(allValues.length, 2 * COUNT + 2);
  } finally {
    await b.stop();
  }
});
