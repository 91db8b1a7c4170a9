/**
 * Issue 3 acceptance with the Python clients: kafka-python and confluent-kafka-python (librdkafka) each create a
 * 6-partition topic, produce 10,000 keyed records with headers, read them all back byte-exact with offsets and
 * per-partition order checked, and look offsets up by timestamp.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { startTestBroker } from "../support/broker.ts";
import { PYTHON, havePythonModule, runProc } from "../support/proc.ts";

const script = path.join(import.meta.dirname, "py_roundtrip.py");

for (const [lib, module] of [["kafka-python", "kafka"], ["confluent", "confluent_kafka"]] as const) {
  const skip = (await havePythonModule(module)) ? false : `python module ${module} is not installed (tests/setup.sh installs it as root)`;
  test(`${lib}: 10,000 keyed records with headers round-trip byte-exact on a 6-partition topic`, { skip }, async () => {
    const b = await startTestBroker();
    try {
      const r = await runProc(PYTHON, [script, lib, b.bootstrap, `rt-${lib}`, "10000"], { timeoutMs: 150_000 });
      const last = r.stdout.trim().split("\n").pop() ?? "";
      assert.equal(r.code, 0, `exit ${r.code}${r.timedOut ? " (timed out)" : ""}\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-3000)}`);
      const summary = JSON.parse(last);
      assert.equal(summary.ok, true);
      assert.equal(summary.records, 10000);
      assert.deepEqual(summary.partitions, [0, 1, 2, 3, 4, 5]);
    } finally {
      await b.stop();
    }
  });
}
