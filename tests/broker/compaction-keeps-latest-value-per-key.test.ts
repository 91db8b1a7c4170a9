/**
 * Log compaction end to end: kcat writes many updates to a few keys into a `cleanup.policy=compact` topic with
 * 1 MiB segments, the broker's cleaner (short backoff, low dirty ratio) compacts the sealed segments on its own,
 * and kcat reads back the latest value of every key at its original offset, with older values gone and the
 * partition smaller on disk. A keyless record is refused by a compacted topic.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { rootCheckpointOffset } from "../support/root-checkpoint.ts";
import { segmentFileBatches } from "../support/segment-batches.ts";
import { RawClient } from "../support/raw-client.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();
const kcatSkip = haveCommand("kcat") ? false : "kcat is not installed";
const TIMEOUT = { timeout: 120_000 };
const KEYS = 20;
const N = 30_000;
const PAD_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** 90 pseudo-random characters (so that compressed batches still fill segments). */
function pad(i: number): string {
  let x = (i * 2654435761) >>> 0;
  let out = "";
  for (let j = 0; j < 90; j++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out += PAD_CHARS[x >>> 26];
  }
  return out;
}

/**
 * Sizes of the partition's `.log` files by base offset. The cleaner may swap a segment between the listing and the
 * stat (it renames the cleaned file over the old one and deletes emptied ones), so a listing that loses a file to
 * it is taken again.
 */
function segments(b: TestBroker, topic: string): { base: bigint; size: number }[] {
  const dir = path.join(b.dir, `${topic}-0`);
  for (let attempt = 0; ; attempt++) {
    try {
      return fs
        .readdirSync(dir)
        .filter((n) => /^\d{20}\.log$/.test(n))
        .map((n) => ({ base: BigInt(n.slice(0, 20)), size: fs.statSync(path.join(dir, n)).size }))
        .sort((x, y) => (x.base < y.base ? -1 : 1));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 100) throw e;
    }
  }
}

/** The cleaner checkpoint of `topic-0` in the broker's log dir (its shard's on a sharded node), or -1. */
function cleanerCheckpoint(b: TestBroker, topic: string): bigint {
  return rootCheckpointOffset(b.dir, "cleaner-offset-checkpoint", topic, 0);
}

async function waitFor(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const codec of ["none", "lz4"] as const) {
  test(`kcat (${codec}): the cleaner keeps the latest value per key at its original offset and the partition shrinks`, { skip: kcatSkip, ...TIMEOUT }, async () => {
    const b = await startTestBroker({ "log.cleaner.backoff.ms": "100" });
    try {
      const topic = `compacted-${codec}`;
      await b.broker.createTopic(topic, 1, 1, { "cleanup.policy": "compact", "segment.bytes": "1048576", "min.cleanable.dirty.ratio": "0.01" }, false);
      const lines = Array.from({ length: N }, (_, i) => `key-${i % KEYS}\t${i}:${pad(i)}`);
      const p = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", topic, "-K", "\t", "-z", codec, "-X", "batch.num.messages=200"], { input: lines.join("\n") + "\n", timeoutMs: 60_000 });
      assert.equal(p.code, 0, p.stderr);
      // The cleaner may already be at work while kcat produces; the active segment is never touched.
      const activeBase = segments(b, topic).at(-1)!.base;
      assert.ok(activeBase > BigInt(N / 2), `1 MiB segments rolled (active segment at ${activeBase})`);
      await waitFor("the cleaner to compact the sealed segments", () => cleanerCheckpoint(b, topic) === activeBase);
      const after = segments(b, topic);
      const activeBytes = after.at(-1)!.size;
      const bytesAfter = after.reduce((n, s) => n + s.size, 0);
      const uncompacted = (activeBytes / (N - Number(activeBase))) * N;
      assert.ok(bytesAfter < uncompacted / 2, `on disk ${bytesAfter} bytes, about ${Math.round(uncompacted)} uncompacted`);

      const c = await runProc("kcat", ["-C", "-b", b.bootstrap, "-t", topic, "-e", "-f", "%o\t%k\t%s\n"], { timeoutMs: 60_000 });
      assert.equal(c.code, 0, c.stderr);
      const got = c.stdout.split("\n").filter(Boolean).map((l) => {
        const [o, k, v] = l.split("\t");
        return { offset: BigInt(o), key: k, produced: Number(v.split(":")[0]) };
      });
      assert.ok(got.length < N / 2, `consumed ${got.length} of ${N} records`);
      // Every record is at the offset it was written to (gaps allowed), so offsets are preserved.
      for (const r of got) assert.equal(r.offset, BigInt(r.produced), `record ${r.produced} is still at offset ${r.produced}`);
      // The latest value of every key is there.
      const latest = new Map<string, number>();
      for (const r of got) latest.set(r.key, r.produced);
      for (let k = 0; k < KEYS; k++) {
        const last = N - KEYS + ((k - (N % KEYS) + KEYS) % KEYS);
        assert.equal(latest.get(`key-${k}`), last, `latest value of key-${k}`);
      }
      // Below the active segment (the cleaned section) each key appears once.
      const cleaned = got.filter((r) => r.offset < activeBase);
      assert.equal(new Set(cleaned.map((r) => r.key)).size, cleaned.length, "one record per key in the cleaned segments");
      assert.ok(cleaned.length <= KEYS);
      // Rebuilt batches kept the producer's codec.
      const codecs = new Set<number>();
      for (const seg of after.slice(0, -1)) {
        for (const batch of segmentFileBatches(path.join(b.dir, `${topic}-0`, `${seg.base.toString().padStart(20, "0")}.log`))) if (batch.records > 0) codecs.add(batch.codec);
      }
      assert.deepEqual([...codecs], [codec === "lz4" ? 3 : 0]);
      // The active segment was left alone.
      assert.equal(got.filter((r) => r.offset >= activeBase).length, N - Number(activeBase));
    } finally {
      await b.stop();
    }
  });
}

test("a compacted topic refuses records without a key (INVALID_RECORD); other topics take them", TIMEOUT, async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("compacted-keys", 1, 1, { "cleanup.policy": "compact" }, false);
    await b.broker.createTopic("plain", 1, 1, {}, false);
    const batch = (key: string | null) => {
      const bb = new BatchBuilder(1 << 12);
      bb.reset({});
      bb.append(Date.now(), key === null ? null : new TextEncoder().encode(key), new TextEncoder().encode("v"));
      return bb.finish();
    };
    const produce = (topic: string, records: Uint8Array) =>
      c.request(0, 9, { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
    const refused = await produce("compacted-keys", batch(null));
    assert.equal(refused.responses[0].partitionResponses[0].errorCode, ErrorCode.INVALID_RECORD);
    const keyed = await produce("compacted-keys", batch("k"));
    assert.equal(keyed.responses[0].partitionResponses[0].errorCode, 0);
    const plain = await produce("plain", batch(null));
    assert.equal(plain.responses[0].partitionResponses[0].errorCode, 0);
  } finally {
    c.close();
    await b.stop();
  }
});
