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
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { startBrokerProcess, type BrokerProcess } from "../support/broker-process.ts";
import { RawClient } from "../support/raw-client.ts";
import { Reader, Writer } from "../../src/protocol/wire.ts";
import { API_CODECS, requestHeaderVersion, responseHeaderVersion } from "../../src/protocol/generated/index.ts";
import { readResponseHeader, writeRequestHeader } from "../../src/protocol/generated/headers.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { BASE_OFFSET_OFFSET, BATCH_LENGTH_OFFSET, batchCrcValid, CRC_OFFSET, dataViewOf, LOG_OVERHEAD } from "../../src/protocol/batch-layout.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();

/** Batches produced per topic: ~32 MB, far more than loopback's socket buffers hold for a reader that stopped. */
const BATCHES = 32;
/** Value bytes per batch (one record): a batch stays under message.max.bytes. */
const VALUE_BYTES = 1000 * 1024;
/** Segment size for the topics whose sealed segments are changed: 4 batches each. */
const SEGMENT_BYTES = 4 * 1024 * 1024;
/** The slow client's Fetch limits: the whole partition in one answer (under fetch.max.bytes, 55 MB). */
const FETCH_MAX_BYTES = 54 * 1024 * 1024;
/** How long the slow client's answer may take to arrive once it reads again. */
const ANSWER_DEADLINE_MS = 60_000;
/** Most of the answer the slow client may have received before the change: the rest was still queued in the broker. */
const MOST_RECEIVED_BEFORE_CHANGE = 16 * 1024 * 1024;

/** Timestamp of the batches (now: retention.ms must not find them old). */
const T0 = Date.now();

/** Batch `i` of a topic: timestamp T0 + i, key `k<i % 4>` (so compaction keeps the last 4) and seeded value bytes. */
function batch(i: number): Uint8Array {
  const value = new Uint8Array(VALUE_BYTES);
  let s = (i + 1) * 2654435761;
  for (let k = 0; k < value.length; k += 4) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    value[k] = s;
    value[k + 1] = s >>> 8;
    value[k + 2] = s >>> 16;
    value[k + 3] = s >>> 24;
  }
  const bb = new BatchBuilder(VALUE_BYTES + 4096);
  bb.reset();
  bb.append(T0 + i, new TextEncoder().encode(`k${i % 4}`), value);
  return bb.finish().slice();
}

async function createTopic(admin: RawClient, name: string, configs: Record<string, string>): Promise<void> {
  const r = await admin.request(19, 5, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  assert.equal(r.topics[0].errorCode, 0, `CreateTopics ${name}: ${r.topics[0].errorMessage}`);
}

async function produceAll(admin: RawClient, topic: string): Promise<Uint8Array[]> {
  const produced: Uint8Array[] = [];
  for (let i = 0; i < BATCHES; i++) {
    const b = batch(i);
    produced.push(b);
    const r = await admin.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: b }] }] });
    assert.equal(r.responses[0].partitionResponses[0].errorCode, 0, `produce to ${topic}`);
  }
  return produced;
}

async function alterTopicConfigs(admin: RawClient, topic: string, configs: Record<string, string>): Promise<void> {
  const r = await admin.request(44, 1, {
    resources: [{ resourceType: 2, resourceName: topic, configs: Object.entries(configs).map(([name, value]) => ({ name, configOperation: 0, value })) }],
    validateOnly: false,
  });
  assert.equal(r.responses[0].errorCode, 0, `IncrementalAlterConfigs ${topic}: ${r.responses[0].errorMessage}`);
}

/**
 * A consumer that asks for the whole partition in one Fetch and stops reading once the first bytes of the answer
 * arrive (so the broker holds the rest, queued as views), until {@link SlowFetcher.readRest}.
 */
class SlowFetcher {
  private chunks: Buffer[] = [];
  received = 0;
  private wanted = -1;
  private onChange: (() => void) | null = null;
  private closed = false;

  private constructor(private readonly sock: net.Socket) {
    sock.on("error", () => {});
    sock.on("close", () => {
      this.closed = true;
      this.onChange?.();
    });
    sock.on("data", (b: Buffer) => {
      this.chunks.push(b);
      this.received += b.length;
      if (this.wanted < 0 && this.received >= 4) this.wanted = 4 + Buffer.concat(this.chunks).readInt32BE(0);
      if (this.wanted >= 0 && this.received < this.wanted && this.onChange === null) sock.pause();
      this.onChange?.();
    });
  }

  /** Connects, sends the Fetch, and resolves once the answer started to arrive and reading stopped. */
  static async start(port: number, topic: string): Promise<SlowFetcher> {
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => resolve(s));
      s.once("error", reject);
    });
    const f = new SlowFetcher(sock);
    const w = new Writer(1024);
    w.reserve(4);
    writeRequestHeader(w, requestHeaderVersion(1, 12), { requestApiKey: 1, requestApiVersion: 12, correlationId: 1, clientId: "slow-reader" });
    API_CODECS[1]!.writeRequest(w, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: FETCH_MAX_BYTES,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: FETCH_MAX_BYTES }] }],
      forgottenTopicsData: [],
      rackId: "",
    });
    const frame = w.finishContiguous().slice();
    new DataView(frame.buffer).setInt32(0, frame.length - 4);
    sock.write(frame);
    await f.until(() => f.wanted >= 0, "the answer's first bytes");
    return f;
  }

  private until(done: () => boolean, what: string, timeoutMs = ANSWER_DEADLINE_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.onChange = null;
        reject(new Error(`slow reader: ${what} did not arrive in ${timeoutMs} ms (${this.received} of ${this.wanted} bytes)`));
      }, timeoutMs);
      const check = () => {
        if (done()) {
          clearTimeout(timer);
          this.onChange = null;
          resolve();
        } else if (this.closed) {
          clearTimeout(timer);
          this.onChange = null;
          reject(new Error(`slow reader: the connection closed before ${what} (${this.received} of ${this.wanted} bytes)`));
        }
      };
      this.onChange = check;
      check();
    });
  }

  /** Reads on until the whole answer is in; returns its records. */
  async readRest(): Promise<Uint8Array> {
    const whole = this.until(() => this.received >= this.wanted, "the whole answer");
    this.sock.resume();
    await whole;
    const frame = Buffer.concat(this.chunks).subarray(4, this.wanted);
    const r = new Reader(frame);
    readResponseHeader(r, responseHeaderVersion(1, 12));
    const answer = API_CODECS[1]!.readResponse(r, 12) as { errorCode: number; responses: { partitions: { errorCode: number; records: Uint8Array | null }[] }[] };
    assert.equal(answer.errorCode, 0);
    const p = answer.responses[0].partitions[0];
    assert.equal(p.errorCode, 0, `the answer's partition error: ${JSON.stringify(p, (k, v) => (k === "records" ? v?.length : typeof v === "bigint" ? String(v) : v))}`);
    assert.ok(p.records !== null);
    return p.records;
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Asserts `records` holds exactly the `produced` batches, offsets 0.., each intact (CRC valid, same bytes from the CRC on). */
function assertIntact(records: Uint8Array, produced: readonly Uint8Array[]): void {
  const dv = dataViewOf(records);
  let at = 0;
  let i = 0;
  while (at < records.length) {
    const size = LOG_OVERHEAD + dv.getInt32(at + BATCH_LENGTH_OFFSET);
    assert.ok(i < produced.length, `more batches than produced (at byte ${at})`);
    assert.equal(dv.getBigInt64(at + BASE_OFFSET_OFFSET), BigInt(i), `batch ${i}: offset`);
    assert.equal(size, produced[i].length, `batch ${i}: size`);
    assert.ok(batchCrcValid(records, dv, at, size), `batch ${i}: bad CRC`);
    assert.ok(Buffer.from(records.subarray(at + CRC_OFFSET, at + size)).equals(produced[i].subarray(CRC_OFFSET)), `batch ${i}: bytes differ from the produced batch`);
    at += size;
    i++;
  }
  assert.equal(i, produced.length, "batches in the answer");
}

function findFile(dir: string, rel: string): string {
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (!e.isDirectory()) continue;
      if (p.endsWith(path.sep + path.dirname(rel)) && fs.existsSync(path.join(p, path.basename(rel)))) return path.join(p, path.basename(rel));
      stack.push(p);
    }
  }
  throw new Error(`${rel} not found under ${dir}`);
}

async function waitFor(what: string, done: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

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

test("an answer queued on a slow reader stays intact, and the broker up, while its log is deleted, compacted or cut", async (t) => {
  const node = await startNode();
  try {
    for (const [i, c] of CHANGES.entries()) {
      await t.test(c.what, () => withQueuedAnswer(node, `views-${i}`, c.configs, (admin) => c.change(node, admin, `views-${i}`)));
    }
  } finally {
    await node.stop();
  }
});

test("a broker stopping while an answer is queued on a reader that stopped exits cleanly", async () => {
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
