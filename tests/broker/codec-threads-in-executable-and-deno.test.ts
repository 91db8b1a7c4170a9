/**
 * The codec worker threads work where the broker ships: a broker started by the compiled executable (the worker
 * module embedded next to main) and one started by Deno (from the sources) with `compression.type=lz4` and
 * `snappy` recompress kcat's large uncompressed batches in their codec threads: no worker fails (a failure is
 * logged and the call would run on the loop), the stored batches are in the topic's codec, and kcat reads back what
 * it wrote.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startBrokerProcess, type BrokerRuntime } from "../support/broker-process.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { segmentFileBatches } from "../support/segment-batches.ts";
import { OFF_LOOP_CODEC_MIN_BYTES } from "../../src/compression/index.ts";

const kcatSkip = haveCommand("kcat") ? false : "kcat is not installed";
const VALUE_BYTES = 2000;

for (const runtime of ["binary", "deno"] as BrokerRuntime[]) {
  for (const codec of [{ name: "lz4", id: 3 }, { name: "snappy", id: 2 }]) {
    test(`${runtime === "binary" ? "the compiled executable" : "Deno"}: ${codec.name} recompression of large batches runs in codec threads`, { skip: kcatSkip, timeout: 120_000 }, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `runnel-codec-${runtime}-`));
      const b = await startBrokerProcess(runtime, ["--port", "0", "--data-dir", dir, "-o", `compression.type=${codec.name}`, "-o", "num.partitions=1"], 60_000);
      try {
        const lines = Array.from({ length: 400 }, (_, i) => `k${i}:${String(i).padStart(6, "0")}-${"stream broker offset replica ".repeat(VALUE_BYTES / 29)}`);
        const p = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", "ct", "-K:", "-X", "acks=all", "-X", "linger.ms=50"], { input: lines.join("\n") + "\n", timeoutMs: 30_000 });
        assert.equal(p.code, 0, p.stderr);
        const c = await runProc("kcat", ["-C", "-b", b.bootstrap, "-t", "ct", "-e", "-u", "-f", "%k:%s\n"], { timeoutMs: 30_000 });
        assert.equal(c.code, 0, c.stderr);
        assert.deepEqual(c.stdout.split("\n").filter(Boolean), lines);
        const batches = segmentFileBatches(path.join(dir, "ct-0", "00000000000000000000.log"));
        const seen = JSON.stringify(batches.map((x) => ({ codec: x.codec, records: x.records })));
        assert.ok(batches.every((x) => x.codec === codec.id), `stored as ${codec.name}: ${seen}`);
        assert.ok(batches.some((x) => x.records * VALUE_BYTES >= OFF_LOOP_CODEC_MIN_BYTES), `a batch large enough for the codec threads: ${seen}`);
        assert.doesNotMatch(b.log(), /codec worker thread failed/);
      } finally {
        assert.equal(await b.stop("SIGTERM"), 0, `clean exit on SIGTERM\n${b.log().slice(-2000)}`);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}
