/**
 * A sharded node's front copies forwarded Produce frames of 64 KiB-4 MiB into shared frame slots that the shard
 * frees when its handler is done (runnel.shards.frame.slots, the default); the next frame on any connection may then
 * be written into the same memory. Several connections each pipeline many such Produces at once (acks=1, acks=all and
 * acks=0, every batch of distinct random bytes, uncompressed or gzip, lz4 or snappy, which the shard checks off its
 * event loop while the frame waits in its slot) to partitions of both shards, so slots are lent, freed and reused
 * while other handlers still run: every batch must be stored byte for byte as it was sent (a slot reused too early
 * would store or refuse another frame's bytes). Against the front of a node's fixture (main thread), and against
 * `runnel start --shards 2` under the test's runtime, whose shard threads accept clients too and forward to each other.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder, type BatchCompressor } from "../../src/protocol/record-batch.ts";
import { codecByName, initCompression } from "../../src/compression/index.ts";
import { RawClient } from "../support/raw-client.ts";
import { startFrontOverShards } from "./front-fixture.ts";
import { kafkajsOnFront } from "./support.ts";
import { startBrokerProcess, type BrokerProcess } from "../support/broker-process.ts";
import { TEST_RUNTIME } from "../support/cluster-processes.ts";

const TOPIC = "slots";
const PARTITIONS = 4;
const CONNECTIONS = 4;
/** Produces each connection pipelines (one batch of one record each). */
const PER_CONNECTION = 24;

/** Codecs of each connection's batches: none, and ones the shard checks off its event loop (zlib, codec threads). */
const CODECS = [null, "gzip", "lz4", "snappy"];

/** One batch of one record whose value is `size` random bytes, compressed by `compressor` if given. */
function randomBatch(bb: BatchBuilder, size: number, compressor: BatchCompressor | undefined): Uint8Array {
  bb.reset({});
  bb.append(Date.now(), null, randomFillSync(new Uint8Array(size)));
  return bb.finish(compressor).slice();
}

/** The bytes a stored batch keeps as they were sent: all but the base offset and the partition leader epoch. */
function sameBatch(stored: Uint8Array, sent: Uint8Array): boolean {
  if (stored.length !== sent.length) return false;
  return Buffer.compare(stored.subarray(8, 12), sent.subarray(8, 12)) === 0 && Buffer.compare(stored.subarray(16), sent.subarray(16)) === 0;
}

/**
 * Pipelines {@link PER_CONNECTION} large Produces on each of {@link CONNECTIONS} raw connections to the node at `port`
 * (topic {@link TOPIC}, partitions on both shards), then reads every partition back and checks each batch byte for
 * byte; `where(p)` names a partition in messages.
 */
async function produceAndCheck(port: number, where: (p: number) => string): Promise<void> {
  const clients: RawClient[] = [];
  try {
    await Promise.all([initCrc32c(), initCompression()]);
    const sent: Uint8Array[][] = Array.from({ length: PARTITIONS }, () => []);
    for (let c = 0; c < CONNECTIONS; c++) clients.push(await RawClient.connect(port));
    await Promise.all(clients.map(async (raw, c) => {
      const bb = new BatchBuilder(1 << 16);
      const codec = CODECS[c % CODECS.length] === null ? null : codecByName(CODECS[c % CODECS.length]!);
      const compressor = codec === null ? undefined : { codecId: codec.id, compress: (s: Uint8Array) => codec.compress(s, undefined) };
      const answers: Promise<any>[] = [];
      for (let i = 0; i < PER_CONNECTION; i++) {
        // 70 KiB to 1 MiB: every frame goes in a slot; acks cycle 1, -1, 0.
        const batch = randomBatch(bb, 70 * 1024 + ((c * 7919 + i * 104_729) % (950 * 1024)), compressor);
        const p = (c + i) % PARTITIONS;
        const acks = [1, -1, 0][i % 3];
        sent[p].push(batch);
        const body = { transactionalId: null, acks, timeoutMs: 30_000, topicData: [{ name: TOPIC, partitionData: [{ index: p, records: batch }] }] };
        if (acks === 0) void raw.sendRaw(raw.frame(0, 9, body), false);
        else answers.push(raw.request(0, 9, body));
      }
      // An answered request after the acks=0 ones: they were all handled (in order) before it is answered.
      const last = await raw.request(18, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" });
      assert.equal(last.errorCode, 0);
      for (const a of await Promise.all(answers)) assert.equal(a.responses[0].partitionResponses[0].errorCode, 0, `connection ${c}: a Produce failed`);
    }));

    // Read every partition back from the start (any order across connections; per batch, the exact bytes).
    const reader = clients[0];
    for (let p = 0; p < PARTITIONS; p++) {
      const stored: Uint8Array[] = [];
      let offset = 0n;
      while (stored.length < sent[p].length) {
        const res = await reader.request<any>(1, 12, {
          replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 16 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
          topics: [{ topic: TOPIC, partitions: [{ partition: p, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 16 << 20 }] }],
          forgottenTopicsData: [], rackId: "",
        });
        const part = res.responses[0].partitions[0];
        assert.equal(part.errorCode, 0, `partition ${p} fetch error`);
        const records = part.records as Uint8Array | null;
        assert.ok(records !== null && records.length > 0, `partition ${p}: ${stored.length} of ${sent[p].length} batches stored`);
        const dv = new DataView(records.buffer, records.byteOffset, records.length);
        for (let at = 0; at + 12 <= records.length; ) {
          const size = dv.getInt32(at + 8) + 12;
          if (at + size > records.length) break;
          stored.push(records.slice(at, at + size));
          offset = dv.getBigInt64(at) + 1n;
          at += size;
        }
      }
      assert.equal(stored.length, sent[p].length, `partition ${p}: as many batches as sent`);
      // Each sent batch is stored once, unchanged (batches of one partition from several connections interleave).
      const unmatched = [...sent[p]];
      for (const s of stored) {
        const i = unmatched.findIndex((b) => sameBatch(s, b));
        assert.ok(i >= 0, `partition ${p} (${where(p)}): a stored batch of ${s.length} bytes is none of those sent`);
        unmatched.splice(i, 1);
      }
    }
  } finally {
    for (const c of clients) c.close();
  }
}

test("concurrent large Produces over frame slots are stored byte for byte as sent (front in this thread)", { timeout: 180_000 }, async () => {
  const node = await startFrontOverShards();
  const { disconnect } = await kafkajsOnFront(node, "slots", TOPIC, PARTITIONS);
  try {
    await disconnect();
    await produceAndCheck(node.port, (p) => `shard ${node.ownerOf(TOPIC, p)}`);
    assert.ok(node.front.router.producesForwarded >= CONNECTIONS * PER_CONNECTION, `Produces forwarded as frames: ${node.front.router.producesForwarded}`);
  } finally {
    await node.close();
  }
});

test("concurrent large Produces over frame slots are stored byte for byte as sent (runnel start --shards 2 under this runtime, every thread accepting)", { timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-slots-"));
  let b: BrokerProcess | null = null;
  try {
    b = await startBrokerProcess(TEST_RUNTIME, ["--port", "0", "--data-dir", dir, "--shards", "2", "-o", `num.partitions=${PARTITIONS}`], 90_000);
    const admin = await RawClient.connect(b.port);
    try {
      const created = await admin.request<any>(19, 5, { topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false });
      assert.equal(created.topics[0].errorCode, 0);
    } finally {
      admin.close();
    }
    await produceAndCheck(b.port, (p) => `partition ${p} of a 2-shard node`);
  } finally {
    await b?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
