/**
 * Test support for answers queued in a broker as views of its segment maps (docs/storage-views.md): ~1 MB record
 * batches with seeded bytes, a consumer that asks for a whole partition in one Fetch and stops reading once the answer
 * starts to arrive (so the broker holds the rest), and a check that the answer holds exactly the produced batches.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { RawClient } from "./raw-client.ts";
import { Reader, Writer } from "../../src/protocol/wire.ts";
import { API_CODECS, requestHeaderVersion, responseHeaderVersion } from "../../src/protocol/generated/index.ts";
import { readResponseHeader, writeRequestHeader } from "../../src/protocol/generated/headers.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { BASE_OFFSET_OFFSET, BATCH_LENGTH_OFFSET, batchCrcValid, CRC_OFFSET, dataViewOf, LOG_OVERHEAD } from "../../src/protocol/batch-layout.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();

/** Batches produced per topic: ~32 MB, far more than loopback's socket buffers hold for a reader that stopped. */
export const BATCHES = 32;
/** Value bytes per batch (one record): a batch stays under message.max.bytes. */
export const VALUE_BYTES = 1000 * 1024;
/** Segment size for the topics whose sealed segments are changed: 4 batches each. */
export const SEGMENT_BYTES = 4 * 1024 * 1024;
/** The slow client's Fetch limits: the whole partition in one answer (under fetch.max.bytes, 55 MB). */
export const FETCH_MAX_BYTES = 54 * 1024 * 1024;
/** How long the slow client's answer may take to arrive once it reads again. */
export const ANSWER_DEADLINE_MS = 60_000;
/** Most of the answer the slow client may have received before the change: the rest was still queued in the broker. */
export const MOST_RECEIVED_BEFORE_CHANGE = 16 * 1024 * 1024;

/** Timestamp of the batches (now: retention.ms must not find them old). */
const T0 = Date.now();

/** Batch `i` of a topic: timestamp T0 + i, key `k<i % 4>` (so compaction keeps the last 4) and seeded value bytes. */
export function batch(i: number): Uint8Array {
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

/** CreateTopics v5 of `name`: one partition with `replicationFactor` replicas, and `configs`. */
export async function createTopic(admin: RawClient, name: string, configs: Record<string, string>, replicationFactor = 1): Promise<void> {
  const r = await admin.request(19, 5, {
    topics: [{ name, numPartitions: 1, replicationFactor, assignments: [], configs: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  assert.equal(r.topics[0].errorCode, 0, `CreateTopics ${name}: ${r.topics[0].errorMessage}`);
}

/** Produces batches `from` .. `from + count - 1` ({@link batch}) to partition 0 of `topic` with acks=all, one request each; returns them. */
export async function produceAll(admin: RawClient, topic: string, from = 0, count = BATCHES): Promise<Uint8Array[]> {
  const produced: Uint8Array[] = [];
  for (let i = from; i < from + count; i++) {
    const b = batch(i);
    produced.push(b);
    const r = await admin.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: b }] }] });
    assert.equal(r.responses[0].partitionResponses[0].errorCode, 0, `produce to ${topic}`);
  }
  return produced;
}

/** IncrementalAlterConfigs v1: SETs `configs` on `topic`. */
export async function alterTopicConfigs(admin: RawClient, topic: string, configs: Record<string, string>): Promise<void> {
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
export class SlowFetcher {
  private chunks: Buffer[] = [];
  /** Bytes of the answer received so far. */
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

  /** Closes the connection. */
  close(): void {
    this.sock.destroy();
  }
}

/** Asserts `records` holds exactly the `produced` batches, offsets 0.., each intact (CRC valid, same bytes from the CRC on). */
export function assertIntact(records: Uint8Array, produced: readonly Uint8Array[]): void {
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

/** The file at `rel` (`<partition dir>/<file>`) somewhere under `dir` (a data dir, sharded or not). */
export function findFile(dir: string, rel: string): string {
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

/** Polls `done` every 50 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, done: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
