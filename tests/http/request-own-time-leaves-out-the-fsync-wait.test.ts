/**
 * `runnel_request_own_time_ms` counts the broker's own work per request (queue + local + send) and not the
 * acks=all wait for the fdatasync: with every segment fdatasync held back 150 ms, Produce requests show that wait
 * in `remotetimems` and `totaltimems` but not in their own time. The numbers are read the way `runnel bench
 * --broker-metrics` reads them (src/bench/broker-phases.ts: two scrapes, bucket deltas).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startHttpTestBroker } from "../support/http-broker.ts";
import { wrappedFileSystem } from "../storage/wrapped-file-system.ts";
import { Producer } from "../../src/client/producer.ts";
import { Admin } from "../../src/client/admin.ts";
import { brokerPhases, scrapeHistograms } from "../../src/bench/broker-phases.ts";

const HELD_MS = 150;
const REQUESTS = 4;

test("own time per request leaves out the acks=all fdatasync wait, which remote and total time show", { timeout: 60_000 }, async () => {
  const { fs, probe } = wrappedFileSystem();
  const b = await startHttpTestBroker({}, { deps: { fs } });
  const admin = new Admin({ bootstrap: b.bootstrap, clientId: "own-time" });
  const producer = new Producer({ bootstrap: b.bootstrap, clientId: "own-time", acks: "all", lingerMs: 0 });
  try {
    await admin.connect();
    await admin.createTopics([{ name: "own-time", numPartitions: 1, replicationFactor: 1 }]);
    await producer.connect();
    await producer.send({ topic: "own-time", key: null, value: new TextEncoder().encode("warm") }); // metadata, connections
    probe.logDatasyncGate = () => new Promise((r) => setTimeout(r, HELD_MS));
    const before = await scrapeHistograms(`${b.url}/metrics`);
    for (let i = 0; i < REQUESTS; i++) await producer.send({ topic: "own-time", key: null, value: new TextEncoder().encode(`v${i}`) });
    const after = await scrapeHistograms(`${b.url}/metrics`);
    const p = brokerPhases(before, after).produce;
    assert.equal(p.total?.count, REQUESTS, "one Produce request per awaited send");
    assert.equal(p.own?.count, REQUESTS, "own time is kept per request, for every request");
    assert.ok(p.remote!.p50 >= HELD_MS, `remote p50 bucket ${p.remote!.p50} holds the ${HELD_MS} ms fdatasync wait`);
    assert.ok(p.total!.p50 >= HELD_MS, `total p50 bucket ${p.total!.p50}`);
    assert.ok(p.own!.p99 < p.remote!.p50, `own p99 bucket ${p.own!.p99} is below the wait (${p.remote!.p50})`);
  } finally {
    probe.logDatasyncGate = null;
    await producer.close({ timeoutMs: 5000 }).catch(() => {});
    await admin.close().catch(() => {});
    await b.stop();
  }
});
