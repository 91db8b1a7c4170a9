/**
 * Kafka's Java client with every compression.type: KafkaProducer writes 2,000 keyed records with a header using
 * none, gzip, snappy, lz4 (Kafka's LZ4 frame) and zstd; Runnel stores each batch as sent (the codec bits of the
 * batches on disk are the producer's) and a KafkaConsumer reads every record back unchanged.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startTestBroker } from "../support/broker.ts";
import { javaSkip, runJava } from "../support/java.ts";
import { jsonLines } from "../support/json-process.ts";

const CODEC_IDS = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
const COUNT = 2000;

/** The compression codec id of every batch in a segment file (attributes & 7). */
function batchCodecs(file: string): number[] {
  const buf = fs.readFileSync(file);
  const out: number[] = [];
  for (let pos = 0; pos + 61 <= buf.length; ) {
    const length = buf.readInt32BE(pos + 8);
    out.push(buf.readInt16BE(pos + 21) & 7);
    pos += 12 + length;
  }
  return out;
}

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
