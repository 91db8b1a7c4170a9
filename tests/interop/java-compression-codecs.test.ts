/**
 * Kafka's Java client with every compression.type: KafkaProducer writes 2,000 keyed records with a header using
 * none, gzip, snappy, lz4 (Kafka's LZ4 frame) and zstd; Runnel stores each batch as sent (the codec bits of the
 * batches on disk are the producer's) and a KafkaConsumer reads every record back unchanged.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { startTestBroker } from "../support/broker.ts";
import { javaSkip, runJava } from "../support/java.ts";
import { jsonLines } from "../support/json-process.ts";
import { CODEC_IDS, batchCodecs } from "../support/segment-batches.ts";

const COUNT = 2000;

test("Java KafkaProducer with none/gzip/snappy/lz4/zstd: stored as sent, read back by KafkaConsumer", { skip: javaSkip, timeout: 180_000 }, async () => {
  const b = await startTestBroker();
  try {
    for (const codec of Object.keys(CODEC_IDS)) await b.broker.createTopic(`codec-${codec}`, 1, 1, {}, false);
    const r = await runJava("runnel.Codecs", ["--bootstrap", b.bootstrap, "--count", String(COUNT)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const results = jsonLines(r.stdout).filter((e) => e.event === "codec");
    assert.deepEqual(results.map((e) => [e.codec, e.read, e.mismatches]), Object.keys(CODEC_IDS).map((c) => [c, COUNT, 0]));
    for (const [codec, id] of Object.entries(CODEC_IDS)) {
      const codecs = batchCodecs(path.join(b.dir, `codec-${codec}-0`, "00000000000000000000.log"));
      assert.ok(codecs.length > 0);
      assert.deepEqual([...new Set(codecs)], [id], `codec-${codec} batches on disk`);
    }
  } finally {
    await b.stop();
  }
});
