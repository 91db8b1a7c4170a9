/**
 * `runnel bench produce|e2e --broker-metrics URL` reads the broker's /metrics page at the start and the end of the
 * run and reports the broker's request phases for that run alone: Produce and Fetch counts match what the run sent
 * (the page is read after connecting, so set-up requests are left out), and each phase has p50/p99 bucket bounds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startHttpTestBroker } from "../support/http-broker.ts";
import { runnel } from "./run-cli.ts";

test("bench --broker-metrics reports the broker's Produce and Fetch phases of the run", { timeout: 120_000 }, async () => {
  const b = await startHttpTestBroker();
  try {
    const common = ["-b", b.bootstrap, "--progress-ms", "0", "--json", "--broker-metrics", `${b.url}/metrics`];
    const p = await runnel(["bench", "produce", "-t", "bm-produce", "-P", "1", "-n", "3000", "-s", "50", "--acks", "all", "--linger-ms", "0", "--max-in-flight", "1", "--batch-size", "100", ...common]);
    assert.equal(p.code, 0, p.stderr);
    const pr = JSON.parse(p.stdout);
    const produce = pr.broker.produce;
    // One partition, batch.size 100 holds one 50-byte record: one Produce request per record, none left out or added.
    assert.equal(produce.total.count, 3000, JSON.stringify(produce.total));
    for (const phase of ["queue", "local", "remote", "responseQueue", "send", "own", "total"]) {
      const x = produce[phase];
      assert.equal(x.count, 3000, phase);
      assert.ok(x.p50 <= x.p99, `${phase}: ${JSON.stringify(x)}`);
    }
    assert.ok(produce.own.p99 <= produce.total.p99);
    assert.ok(pr.broker.fsync.count > 0, "acks=all fdatasyncs counted");
    assert.equal(pr.broker.fetch.total, null, "no Fetch in a produce run");

    const e = await runnel(["bench", "e2e", "-t", "bm-e2e", "--throughput", "5000", "-n", "2000", "--acks", "all", ...common]);
    assert.equal(e.code, 0, e.stderr);
    const er = JSON.parse(e.stdout);
    assert.ok(er.broker.produce.total.count > 0 && er.broker.fetch.total.count > 0, JSON.stringify(er.broker));
    assert.ok(er.broker.fetch.own.p99 <= er.broker.fetch.total.p99);
  } finally {
    await b.stop();
  }
});
