/**
 * `runnel_request_woken_path_ms{request="Fetch"}`: a long-poll Fetch woken by a Produce's append records the time
 * from that Produce's arrival to the Fetch response written (the broker's share of a record's end-to-end latency),
 * once per woken Fetch; a Fetch that ends at its max wait records nothing there. The long poll is held 300 ms
 * before the record comes, so its total time is long while the woken path is not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startHttpTestBroker } from "../support/http-broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { Producer } from "../../src/client/producer.ts";
import { Admin } from "../../src/client/admin.ts";
import { brokerPhases, scrapeHistograms } from "../../src/bench/broker-phases.ts";

const PARKED_MS = 300;

function fetchBody(maxWaitMs: number) {
  return {
    maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: "woken", partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: "",
  };
}

async function parkedFetches(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^kafka_server_delayedoperationpurgatory_purgatorysize\{delayedOperation="Fetch"\} (\S+)$/m.exec(text);
  return m === null ? 0 : Number(m[1]);
}

test("a long-poll Fetch woken by a Produce records the path from the Produce's arrival; a timed-out one does not", { timeout: 60_000 }, async () => {
  const b = await startHttpTestBroker();
  const admin = new Admin({ bootstrap: b.bootstrap, clientId: "woken" });
  const producer = new Producer({ bootstrap: b.bootstrap, clientId: "woken", acks: 1, lingerMs: 0 });
  const raw = await RawClient.connect(b.broker.port);
  try {
    await admin.connect();
    await admin.createTopics([{ name: "woken", numPartitions: 1, replicationFactor: 1 }]);
    await producer.connect();
    const before = await scrapeHistograms(`${b.url}/metrics`);
    const timedOut = await raw.request(1, 12, fetchBody(50));
    assert.equal(timedOut.responses[0].partitions[0].records?.length ?? 0, 0, "nothing to read yet");
    const woken = raw.request(1, 12, fetchBody(30_000));
    while ((await parkedFetches(b.url)) < 1) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, PARKED_MS));
    await producer.send({ topic: "woken", key: null, value: new TextEncoder().encode("wake up") });
    const res = await woken;
    assert.ok(res.responses[0].partitions[0].records.length > 0, "the woken fetch carries the record");
    const after = await scrapeHistograms(`${b.url}/metrics`);
    const f = brokerPhases(before, after).fetch;
    assert.equal(f.total?.count, 2, "two Fetch requests");
    assert.equal(f.wokenPath?.count, 1, "only the woken one has a woken path");
    assert.ok(f.total!.p99 >= PARKED_MS, `the woken fetch waited ${PARKED_MS} ms (total p99 bucket ${f.total!.p99})`);
    assert.ok(f.wokenPath!.p99 < PARKED_MS, `woken path bucket ${f.wokenPath!.p99} starts at the Produce's arrival, not the Fetch's`);
  } finally {
    raw.close();
    await producer.close({ timeoutMs: 5000 }).catch(() => {});
    await admin.close().catch(() => {});
    await b.stop();
  }
});
