/**
 * Long-poll Fetches parked when the broker stops are answered (or their connection closed) by the stop itself: stop
 * does not wait for their max wait, nothing is left parked or timed afterwards, and no ERROR line is logged (a fetch
 * woken by the closing partition used to park again and, at its max wait, read the closed log). The broker runs on
 * a manual clock, so "after the max wait" is a clock advance, not a sleep. The second test checks the same over the
 * wire, so that it runs against a sharded node too (RUNNEL_TEST_SHARDS, where no clock can be injected): fetches
 * known parked by the node's fetch purgatory size end with the node's stop long before their max wait, the node
 * exits cleanly and its whole log has no ERROR line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { BrokerConnection } from "../../src/client/connection.ts";
import { MAX_FETCH_WAIT_MS } from "../../src/broker/apis/01_fetch.ts";
import { startTestBroker } from "../support/broker.ts";
import { startHttpTestBroker } from "../support/http-broker.ts";
import { waitForParkedFetches } from "../support/node-metrics.ts";
import { IN_PROCESS } from "../support/group-state.ts";

test("Fetches parked at broker stop end with the stop, and nothing logs an ERROR later", { timeout: 60_000, skip: IN_PROCESS ? false : "drives the in-process broker's clock (the next test runs sharded)" }, async () => {
  const clock = new ManualClock();
  const lines: string[] = [];
  const b = await startTestBroker({}, undefined, lines, { clock });
  const conns: BrokerConnection[] = [];
  try {
    const admin = await BrokerConnection.open("127.0.0.1", b.port, -1);
    conns.push(admin);
    const created = await admin.request<any>(19, { topics: [{ name: "quiet", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false }, { version: 7 });
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    // Two consumers wait on an empty partition: one for any byte (woken by offsets), one for more bytes (woken by a read).
    const outcomes = [];
    for (const minBytes of [1, 1000]) {
      const c = await BrokerConnection.open("127.0.0.1", b.port, -1);
      conns.push(c);
      const fetch = c.request<any>(1, {
        replicaId: -1, maxWaitMs: 10_000, minBytes, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: "quiet", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [], rackId: "",
      }, { version: 12, timeoutMs: 60_000 });
      outcomes.push(fetch.then((r) => ({ answered: r.responses[0].partitions[0].errorCode as number }), (e: Error) => ({ closed: e.message })));
    }
    const p = b.broker.partition("quiet", 0)!;
    for (let i = 0; i < 1000 && p.waitingFetches < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(p.waitingFetches, 2, "both fetches parked");

    await b.stop(); // the manual clock never reaches the max wait: this returning shows stop does not wait for it
    for (const o of await Promise.all(outcomes)) {
      // A single-node broker closes its connections first; an answer, if one gets through, says the broker is going.
      if ("answered" in o) assert.equal(o.answered, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
    assert.equal(p.waitingFetches, 0, "no fetch parked again on the closed partition");
    assert.equal(b.broker.metrics?.waitingFetches ?? 0, 0, "no fetch left in the purgatory");
    clock.advance(MAX_FETCH_WAIT_MS + 1); // any max-wait timer still set fires now
    assert.deepEqual(lines.filter((l) => l.startsWith("ERROR")), []);
  } finally {
    for (const c of conns) c.close();
    await b.stop();
  }
});

test("Fetches parked when a node stops end with the stop, well before their max wait; the node logs no ERROR", { timeout: 90_000 }, async () => {
  const lines: string[] = [];
  const b = await startHttpTestBroker({}, { logLines: lines });
  const conns: BrokerConnection[] = [];
  let stopped = false;
  try {
    const admin = await BrokerConnection.open("127.0.0.1", b.broker.port, -1);
    conns.push(admin);
    const created = await admin.request<any>(19, { topics: [{ name: "quiet", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false }, { version: 7 });
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    // Consumers wait at the longest max wait on one partition each, for one byte or more. On a sharded node the
    // partitions are on both shards and the connections spread over the accepting threads: a thread's client may
    // wait on the other thread's shard, which must not stop under it.
    const outcomes = [];
    for (const [partition, minBytes] of [[0, 1], [1, 1000], [0, 1000], [1, 1], [0, 1], [1, 1000], [0, 1000], [1, 1]]) {
      const c = await BrokerConnection.open("127.0.0.1", b.broker.port, -1);
      conns.push(c);
      const fetch = c.request<any>(1, {
        replicaId: -1, maxWaitMs: MAX_FETCH_WAIT_MS, minBytes, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: "quiet", partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [], rackId: "",
      }, { version: 12, timeoutMs: 60_000 });
      outcomes.push(fetch.then((r) => ({ answered: (r.responses[0]?.partitions[0].errorCode ?? r.errorCode) as number }), (e: Error) => ({ closed: e.message })));
    }
    await waitForParkedFetches(b.url, outcomes.length);
    const stopping = Date.now();
    await b.stop(); // a sharded node's stop also fails unless the process exits with 0
    stopped = true;
    for (const o of await Promise.all(outcomes)) {
      if ("answered" in o) assert.equal(o.answered, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
    assert.ok(Date.now() - stopping < MAX_FETCH_WAIT_MS - 5_000, "the stop ended the parked fetches, not their max wait");
    assert.deepEqual(lines.filter((l) => l.startsWith("ERROR")), []);
  } finally {
    for (const c of conns) c.close();
    if (!stopped) await b.stop();
  }
});
