/**
 * franz-go and sarama with every codec: each writes 1,000 keyed records per codec (none, gzip, snappy, lz4, zstd)
 * and reads them back unchanged; Runnel keeps each batch in the codec the client chose.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { startTestBroker } from "../support/broker.ts";
import { goSkip, runGo } from "../support/go.ts";
import { jsonLines } from "../support/json-process.ts";
import { CODEC_IDS, batchCodecs } from "../support/segment-batches.ts";

const COUNT = 1000;

for (const lib of ["franz", "sarama"]) {
  test(`${lib === "franz" ? "franz-go" : "sarama"} with none/gzip/snappy/lz4/zstd: stored as sent, read back unchanged`, { skip: goSkip, timeout: 120_000 }, async () => {
    const b = await startTestBroker();
    try {
      for (const codec of Object.keys(CODEC_IDS)) await b.broker.createTopic(`${lib}-${codec}`, 1, 1, {}, false);
      const r = await runGo("codecs", ["-bootstrap", b.bootstrap, "-lib", lib, "-count", String(COUNT)]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const results = jsonLines(r.stdout).filter((e) => e.event === "codec");
      assert.deepEqual(results.map((e) => [e.codec, e.read, e.mismatches]), Object.keys(CODEC_IDS).map((c) => [c, COUNT, 0]));
      for (const [codec, id] of Object.entries(CODEC_IDS)) {
        const codecs = batchCodecs(path.join(b.dir, `${lib}-${codec}-0`, "00000000000000000000.log"));
        assert.ok(codecs.length > 0);
        assert.deepEqual([...new Set(codecs)], [id], `${lib}-${codec} batches on disk`);
      }
    } finally {
      await b.stop();
    }
  });
}
