/**
 * `runnel_request_own_time_ms` counts the broker's own work per request (queue + local + send) and not the
 * acks=all wait for the fdatasync: with every segment fdatasync held back 150 ms, Produce requests show that wait
 * in `remotetimems` and `totaltimems` but not in their own time. The numbers are read the way `runnel bench
 * --broker-metrics` reads them (src/bench/broker-phases.ts: two scrapes, bucket deltas).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { HTTP_LINE, startHttpTestBroker, waitUntilReady } from "../support/http-broker.ts";
import { wrappedFileSystem } from "../storage/wrapped-file-system.ts";
import { Producer } from "../../src/client/producer.ts";
import { Admin } from "../../src/client/admin.ts";
import { brokerPhases, scrapeHistograms } from "../../src/bench/broker-phases.ts";
import * as nodeFs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startNodeWithShardWorker, type NodeWithShardWorker } from "../support/node-with-test-shard-worker.ts";
import { waitFor } from "../support/group-state.ts";

const HELD_MS = 150;
const REQUESTS = 4;

/**
 * Sends REQUESTS acks=all records one at a time at `bootstrap` (after a warm-up record, then `hold()` makes every
 * segment fdatasync wait HELD_MS) and checks the Produce phases of the node's `/metrics` at `url` between them.
 */
async function ownTimeLeavesOutTheWait(bootstrap: string, url: string, hold: () => void): Promise<void> {
  const admin = new Admin({ bootstrap, clientId: "own-time" });
  const producer = new Producer({ bootstrap, clientId: "own-time", acks: "all", lingerMs: 0 });
  try {
    await admin.connect();
    await admin.createTopics([{ name: "own-time", numPartitions: 1, replicationFactor: 1 }]);
    await producer.connect();
    await producer.send({ topic: "own-time", key: null, value: new TextEncoder().encode("warm") }); // metadata, connections
    hold();
    const before = await scrapeHistograms(`${url}/metrics`);
    for (let i = 0; i < REQUESTS; i++) await producer.send({ topic: "own-time", key: null, value: new TextEncoder().encode(`v${i}`) });
    const after = await scrapeHistograms(`${url}/metrics`);
    const p = brokerPhases(before, after).produce;
    assert.equal(p.total?.count, REQUESTS, "one Produce request per awaited send");
    assert.equal(p.own?.count, REQUESTS, "own time is kept per request, for every request");
    assert.ok(p.remote!.p50 >= HELD_MS, `remote p50 bucket ${p.remote!.p50} holds the ${HELD_MS} ms fdatasync wait`);
    assert.ok(p.total!.p50 >= HELD_MS, `total p50 bucket ${p.total!.p50}`);
    assert.ok(p.own!.p99 < p.remote!.p50, `own p99 bucket ${p.own!.p99} is below the wait (${p.remote!.p50})`);
  } finally {
    await producer.close({ timeoutMs: 5000 }).catch(() => {});
    await admin.close().catch(() => {});
  }
}

test("own time per request leaves out the acks=all fdatasync wait, which remote and total time show", { timeout: 60_000 }, async () => {
  const { fs, probe } = wrappedFileSystem();
  const b = await startHttpTestBroker({}, { deps: { fs } });
  try {
    await ownTimeLeavesOutTheWait(b.bootstrap, b.url, () => (probe.logDatasyncGate = () => new Promise((r) => setTimeout(r, HELD_MS))));
  } finally {
    probe.logDatasyncGate = null;
    await b.stop();
  }
});

test("a 2-shard node: own time per request leaves out the acks=all fdatasync wait, which remote and total time show", { timeout: 120_000 }, async () => {
  const dir = nodeFs.mkdtempSync(path.join(os.tmpdir(), "runnel-sharded-own-time-"));
  const holdFile = path.join(dir, "hold");
  let node: NodeWithShardWorker | null = null;
  try {
    node = await startNodeWithShardWorker(path.join(import.meta.dirname, "fixtures", "fdatasync-holding-shard-worker.ts"), ["--port", "0", "--data-dir", path.join(dir, "data"), "--shards", "2", "--http", "http://127.0.0.1:0"], { RUNNEL_TEST_HOLD_FILE: holdFile, RUNNEL_TEST_HOLD_MS: String(HELD_MS) });
    const n = node;
    await waitFor(async () => HTTP_LINE.test(n.log()), 30_000, () => "the node's HTTP line");
    await waitUntilReady(HTTP_LINE.exec(node.log())![1]);
    await ownTimeLeavesOutTheWait(`127.0.0.1:${node.port}`, HTTP_LINE.exec(node.log())![1], () => nodeFs.writeFileSync(holdFile, ""));
    assert.equal(await node.stop(), 0, node.log().slice(-3000));
  } finally {
    await node?.kill();
    nodeFs.rmSync(dir, { recursive: true, force: true });
  }
});
