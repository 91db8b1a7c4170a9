/**
 * A Fetch answer is written to the socket as views of the segment files' memory maps (src/storage/segment.ts; on a
 * sharded node, of the front's own maps: src/shard/front/segment-maps.ts). A client that reads slowly leaves most of
 * such an answer queued in the broker, as views, for as long as it likes. A mapped file cut below a queued view makes
 * the view's pages fault: SIGBUS (the process dies) where the process touches the bytes, and on a PLAINTEXT socket a
 * write that fails with EFAULT, so the answer stops there for good. Each test here queues a ~32 MB answer on a client
 * that stopped reading, changes the log under it through a real production path (DeleteRecords, retention, topic
 * deletion, compaction, a roll that cuts a preallocated tail, broker shutdown), and then reads the whole answer: the
 * broker process must still run and every batch must be the one produced, byte for byte from its CRC on.
 *
 * The broker runs as a child process; under RUNNEL_TEST_SHARDS=2 it is a 2-shard node. Why each path is safe, and
 * which mutants these tests catch: docs/storage-views.md.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startBrokerProcess, type BrokerProcess } from "../support/broker-process.ts";
import { RawClient } from "../support/raw-client.ts";
import { alterTopicConfigs, assertIntact, batch, BATCHES, createTopic, findFile, MOST_RECEIVED_BEFORE_CHANGE, produceAll, SEGMENT_BYTES, SlowFetcher, waitFor } from "../support/queued-fetch.ts";

/** A broker child process and its data dir. */
interface Node {
  readonly b: BrokerProcess;
  readonly dir: string;
  stop(): Promise<void>;
}

async function startNode(): Promise<Node> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-views-"));
  try {
    const b = await startBrokerProcess("bun", ["--port", "0", "--data-dir", dir, "-o", "log.cleaner.backoff.ms=100", "-o", "log.retention.check.interval.ms=100"]);
    return {
      b,
      dir,
      async stop() {
        await b.stop("SIGKILL");
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Runs `change` on a log while a slow client holds a whole-partition answer from it queued in the broker, then
 * checks that the broker still runs and the answer arrives intact.
 */
async function withQueuedAnswer(node: Node, topic: string, configs: Record<string, string>, change: (admin: RawClient) => Promise<void>): Promise<void> {
  const b = node.b;
  const admin = await RawClient.connect(b.port);
  admin.timeoutMs = 60_000;
  let slow: SlowFetcher | null = null;
  try {
    await createTopic(admin, topic, configs);
    const produced = await produceAll(admin, topic);
    slow = await SlowFetcher.start(b.port, topic);
    assert.ok(slow.received < MOST_RECEIVED_BEFORE_CHANGE, `the broker sent ${slow.received} bytes before the reader stopped`);
    await change(admin);
    assert.equal(b.child.exitCode, null, `broker exited during the change:\n${b.log().slice(-2000)}`);
    assert.ok(slow.received < MOST_RECEIVED_BEFORE_CHANGE, `the broker sent ${slow.received} bytes before the change was done: nothing was queued under it`);
    const records = await slow.readRest().catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; broker ${b.child.exitCode === null && b.child.signalCode === null ? "still running" : `exited (${b.child.exitCode ?? b.child.signalCode})`}\n${b.log().slice(-1500)}`);
    });
    assertIntact(records, produced);
    // Still serving.
    const versions = await admin.request(18, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" });
    assert.equal(versions.errorCode, 0);
    assert.equal(b.child.exitCode, null);
    assert.equal(b.child.signalCode, null);
  } finally {
    slow?.close();
    admin.close();
  }
}

/** A change made to a topic's log while an answer from it is queued. */
interface LogChange {
  readonly what: string;
  /** The topic's configs at creation. */
  readonly configs: Record<string, string>;
  /** Makes the change and waits until it is done (a positive sign: an answer, a file gone or replaced). */
  change(node: Node, admin: RawClient, topic: string): Promise<void>;
}

const SEGMENTED = { "segment.bytes": String(SEGMENT_BYTES) };

const CHANGES: readonly LogChange[] = [
  {
    what: "DeleteRecords deletes the segments under it",
    configs: SEGMENTED,
    async change(_node, admin, topic) {
      const r = await admin.request(21, 2, { topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: BigInt(BATCHES) }] }], timeoutMs: 30_000 });
      const p = r.topics[0].partitions[0];
      assert.equal(p.errorCode, 0);
      assert.equal(p.lowWatermark, BigInt(BATCHES));
    },
  },
  {
    what: "retention.bytes deletes the segments under it",
    configs: SEGMENTED,
    async change(node, admin, topic) {
      const first = findFile(node.dir, `${topic}-0/00000000000000000000.log`);
      await alterTopicConfigs(admin, topic, { "retention.bytes": "1" });
      await waitFor("retention deletes the first segment", () => !fs.existsSync(first));
    },
  },
  {
    what: "topic deletion removes the files under it",
    configs: SEGMENTED,
    async change(node, admin, topic) {
      const partitionDir = path.dirname(findFile(node.dir, `${topic}-0/00000000000000000000.log`));
      const r = await admin.request(20, 5, { topicNames: [topic], timeoutMs: 30_000 });
      assert.equal(r.responses[0].errorCode, 0);
      await waitFor("the partition's directory is removed", () => !fs.existsSync(partitionDir));
    },
  },
  {
    what: "compaction swaps cleaned segments in for the ones under it",
    configs: SEGMENTED,
    async change(node, admin, topic) {
      const first = findFile(node.dir, `${topic}-0/00000000000000000000.log`);
      const before = fs.statSync(first).ino;
      await alterTopicConfigs(admin, topic, { "cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01" });
      await waitFor("the cleaner replaces the first segment", () => fs.existsSync(first) && fs.statSync(first).ino !== before);
    },
  },
  {
    what: "a roll cuts the preallocated tail of the active segment it views",
    configs: { preallocate: "true", "segment.bytes": String(256 * 1024 * 1024) },
    async change(node, admin, topic) {
      await alterTopicConfigs(admin, topic, { "segment.bytes": String(SEGMENT_BYTES) });
      const r = await admin.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch(BATCHES) }] }] });
      assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
      findFile(node.dir, `${topic}-0/${String(BATCHES).padStart(20, "0")}.log`); // rolled: the new segment exists
    },
  },
];

test("an answer queued on a slow reader stays intact, and the broker up, while its log is deleted, compacted or cut", { timeout: 300_000 }, async (t) => {
  const node = await startNode();
  try {
    for (const [i, c] of CHANGES.entries()) {
      await t.test(c.what, () => withQueuedAnswer(node, `views-${i}`, c.configs, (admin) => c.change(node, admin, `views-${i}`)));
    }
  } finally {
    await node.stop();
  }
});

test("a broker stopping while an answer is queued on a reader that stopped exits cleanly", { timeout: 120_000 }, async () => {
  const node = await startNode();
  let slow: SlowFetcher | null = null;
  try {
    const admin = await RawClient.connect(node.b.port);
    admin.timeoutMs = 60_000;
    try {
      await createTopic(admin, "stopping", { preallocate: "true" });
      await produceAll(admin, "stopping");
    } finally {
      admin.close();
    }
    slow = await SlowFetcher.start(node.b.port, "stopping");
    assert.ok(slow.received < MOST_RECEIVED_BEFORE_CHANGE);
    // Listeners close (their connections with them) before the logs close and cut their preallocated tails; the
    // reader reading again must not keep the broker from stopping, nor make it fault.
    const exited = node.b.stop("SIGTERM");
    void slow.readRest().catch(() => {});
    const code = await exited;
    assert.equal(code, 0, `broker exit: ${code}\n${node.b.log().slice(-2000)}`);
  } finally {
    slow?.close();
    await node.stop();
  }
});
