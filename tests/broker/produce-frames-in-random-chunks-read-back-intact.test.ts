/**
 * Produce requests written to a real broker in random chunkings are stored intact. One raw connection sends a seeded
 * random stream of pipelined Produce frames (bodies of exact sizes: small, 64 KiB and a byte either side, two fifths
 * of 160 KiB and of 512 KiB, 600 KiB, 1 and 2.5 MiB, and `socket.request.max.bytes` itself; acks 1, 0 and -1; one
 * partition or two) with a Metadata request now and then, cut into chunks that split size prefixes, end exactly at
 * frame boundaries, hold several frames, or split bodies anywhere. Then kafkajs reads every partition back: each
 * record's value must be the one sent, in order. This runs the broker's framing, its frame buffer pool (frames
 * received into buffers given back by earlier requests) and, sharded (RUNNEL_TEST_SHARDS=2), the front's forwarding:
 * frames copied into frame slots (the default), or moved to shards alone or with the socket read they were cut from
 * (runnel.shards.frame.slots=false), also while dispatch stops between frames inside a read
 * (queued.max.requests.per.connection=3), and produces split across shards. The stream is replayed from its seed
 * (RUNNEL_TEST_SEED, printed in every failure).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { Buffer } from "node:buffer";
import { Kafka, logLevel } from "kafkajs";
import { startTestBroker } from "../support/broker.ts";
import { Reader, Writer } from "../../src/protocol/wire.ts";
import { API_CODECS, requestHeaderVersion, responseHeaderVersion } from "../../src/protocol/generated/index.ts";
import { readResponseHeader, writeRequestHeader } from "../../src/protocol/generated/headers.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();

const KiB = 1024;
const MiB = 1024 * KiB;
/** `socket.request.max.bytes` of the test's broker: one frame is exactly this large. */
const MAX_REQUEST = 3 * MiB;
const TOPIC = "chunked";
const PARTITIONS = 4;
const FRAMES = 50;
const SEED = Number(process.env.RUNNEL_TEST_SEED ?? 0x5eed15);

/** A seeded xorshift32 generator (the run is replayed from its seed). */
function rng(seed: number) {
  let x = seed | 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  return { next, int: (lo: number, hi: number) => lo + (next() % (hi - lo + 1)), pick: <T>(xs: readonly T[]) => xs[next() % xs.length] };
}

/** Body sizes of the frames: around the frame pool's bounds and the request limit. */
const SIZES = [300, 3000, 64 * KiB - 1, 64 * KiB, 64 * KiB, 64 * KiB + 1, 64 * KiB + 1, 100 * KiB, Math.ceil(0.4 * 160 * KiB), Math.ceil(0.4 * 512 * KiB), 600 * KiB, MiB, 2.5 * MiB, MAX_REQUEST];

/** The value of record `r` of frame `f` for partition part `k`: distinct bytes everywhere. */
function value(f: number, k: number, r: number, n: number): Uint8Array {
  const v = new Uint8Array(n);
  let x = (f * 1_000_003 + k * 7_919 + r * 104_729 + 1) | 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    v[i] = x & 255;
  }
  v.set([f >> 8, f & 255, k, r >> 8, r & 255].slice(0, n));
  return v;
}

/** A batch of about `bytes` bytes of records for frame `f`, part `k`; returns it and the values in it. */
function batch(f: number, k: number, bytes: number): { records: Uint8Array; values: Uint8Array[] } {
  const b = new BatchBuilder(bytes);
  b.reset({});
  const values: Uint8Array[] = [];
  // Records of 16 KiB, then smaller ones until the batch is within a few dozen bytes of full.
  let size = bytes < 4 * KiB ? 40 : 16 * KiB;
  for (let r = 0; size >= 8; ) {
    const v = value(f, k, r, size);
    if (b.append(1_700_000_000_000, null, v)) {
      values.push(v);
      r++;
    } else size >>= 1;
  }
  assert.ok(values.length > 0);
  return { records: b.finish(), values };
}

/** A request frame (size prefix included) whose body is exactly `bodySize` bytes: the client id pads it. */
function frameOf(apiKey: number, version: number, correlationId: number, body: unknown, bodySize?: number): Uint8Array {
  const encode = (clientId: string) => {
    const w = new Writer(1024);
    w.reserve(4);
    writeRequestHeader(w, requestHeaderVersion(apiKey, version), { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId });
    API_CODECS[apiKey]!.writeRequest(w, version, body);
    const out = w.finishContiguous().slice();
    new DataView(out.buffer).setInt32(0, out.length - 4);
    return out;
  };
  const plain = encode("c");
  if (bodySize === undefined) return plain;
  const pad = bodySize - (plain.length - 4);
  assert.ok(pad >= 0 && pad < 30_000, `padding of ${pad} bytes`);
  const out = encode("c" + "x".repeat(pad));
  assert.equal(out.length - 4, bodySize);
  return out;
}

/** `p`, or a failure naming `what` after `ms` (a broker that stops answering fails here, not at the test's timeout). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

interface Expected {
  apiKey: number;
  version: number;
}

/** Sends the seeded stream to a broker started with `overrides`, then reads it back with kafkajs. */
async function sendInRandomChunksAndReadBack(seed: number, overrides: Record<string, string>): Promise<void> {
  const b = await startTestBroker({ "socket.request.max.bytes": String(MAX_REQUEST), "message.max.bytes": String(MAX_REQUEST), ...overrides });
  const kafka = new Kafka({ brokers: [b.bootstrap], clientId: "chunks", logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: "chunks", maxBytesPerPartition: 8 * MiB, maxBytes: 16 * MiB });
  const sock = net.connect({ host: "127.0.0.1", port: b.port });
  const connected = new Promise<void>((resolve, reject) => {
    sock.once("connect", resolve);
    sock.once("error", reject);
  });
  try {
    await b.broker.createTopic(TOPIC, PARTITIONS, 1, { "max.message.bytes": String(MAX_REQUEST) }, false);
    await connected;
    sock.setNoDelay(true);
    const rand = rng(seed);
    const sent: Uint8Array[][] = Array.from({ length: PARTITIONS }, () => []);
    const frames: Uint8Array[] = [];
    const expected: Expected[] = [];
    let correlationId = 1;
    for (let f = 0; f < FRAMES; f++) {
      if (rand.next() % 6 === 0) {
        frames.push(frameOf(3, 12, correlationId++, { topics: [{ name: TOPIC, topicId: new Uint8Array(16) }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }));
        expected.push({ apiKey: 3, version: 12 });
      }
      const size = rand.pick(SIZES);
      const acks = rand.pick([1, 1, 1, 0, -1]);
      // One partition, or two (a sharded node's front splits those between its shards).
      const parts = size >= 128 * KiB && rand.next() % 3 === 0 ? 2 : 1;
      const first = rand.int(0, PARTITIONS - 1);
      const partitionData = [];
      for (let k = 0; k < parts; k++) {
        const index = (first + k) % PARTITIONS;
        const { records, values } = batch(f, k, Math.floor(size / parts) - 120);
        sent[index].push(...values);
        partitionData.push({ index, records });
      }
      const body = { transactionalId: null, acks, timeoutMs: 30_000, topicData: [{ name: TOPIC, partitionData }] };
      frames.push(frameOf(0, 9, correlationId++, body, size));
      if (acks !== 0) expected.push({ apiKey: 0, version: 9 });
    }
    // Chunks: per frame, cuts in its size prefix, at its body's start, at random places in the body, or none.
    const stream = Buffer.concat(frames);
    const cuts: number[] = [];
    let at = 0;
    for (const fr of frames) {
      switch (rand.next() % 6) {
        case 0:
          cuts.push(at);
          break;
        case 1:
          cuts.push(at + rand.int(1, 3));
          break;
        case 2:
          cuts.push(at + 4);
          break;
        case 3:
          for (let k = rand.int(1, 4); k > 0; k--) cuts.push(at + 4 + rand.int(0, fr.length - 5));
          break;
        case 4:
          for (let k = 1; k <= 6; k++) cuts.push(at + k);
          break;
        default:
          break; // with its neighbours
      }
      at += fr.length;
    }
    const ends = [...new Set(cuts)].filter((c) => c > 0 && c < stream.length).sort((x, y) => x - y);
    ends.push(stream.length);

    // Answers, in request order.
    const answers: Buffer[] = [];
    let pending = Buffer.alloc(0);
    let onAnswer: (() => void) | null = null;
    let closed = false;
    sock.on("data", (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        answers.push(pending.subarray(4, 4 + pending.readInt32BE(0)));
        pending = pending.subarray(4 + pending.readInt32BE(0));
      }
      onAnswer?.();
    });
    sock.on("close", () => {
      closed = true;
      onAnswer?.();
    });
    let from = 0;
    for (const end of ends) {
      if (!sock.write(stream.subarray(from, end))) await within(new Promise((r) => sock.once("drain", r)), 30_000, `the broker reading byte ${from} of ${stream.length} (seed ${seed})`);
      from = end;
      // Let the chunk go out on its own now and then (the kernel may still join chunks: the cuts are a bias).
      if (rand.next() % 2 === 0) await new Promise((r) => setImmediate(r));
    }
    while (answers.length < expected.length && !closed) await within(new Promise<void>((r) => (onAnswer = r)), 30_000, `answer ${answers.length + 1} of ${expected.length} (seed ${seed})`);
    assert.equal(answers.length, expected.length, `answers before the connection closed (seed ${seed})`);
    answers.forEach((a, i) => {
      const r = new Reader(a);
      readResponseHeader(r, responseHeaderVersion(expected[i].apiKey, expected[i].version));
      const res = API_CODECS[expected[i].apiKey]!.readResponse(r, expected[i].version) as any;
      if (expected[i].apiKey === 0) for (const p of res.responses[0].partitionResponses) assert.equal(p.errorCode, 0, `produce answer ${i}: partition ${p.index} error ${p.errorCode} (seed ${seed})`);
    });

    // Read back with kafkajs: every partition's values in the order sent.
    const got: Buffer[][] = Array.from({ length: PARTITIONS }, () => []);
    const total = sent.reduce((n, s) => n + s.length, 0);
    let count = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        got[partition].push(message.value!);
        if (++count === total) done();
      },
    });
    await within(all, 60_000, `records read back: ${count} of ${total} (seed ${seed})`);
    for (let p = 0; p < PARTITIONS; p++) {
      assert.equal(got[p].length, sent[p].length, `partition ${p}: records read (seed ${seed})`);
      for (let i = 0; i < sent[p].length; i++) assert.ok(got[p][i].equals(sent[p][i]), `partition ${p} record ${i} differs from the one sent (seed ${seed})`);
    }
  } finally {
    sock.destroy();
    await consumer.disconnect();
    await b.stop();
  }
}

test("pipelined produce frames in random chunks are stored as sent and read back by kafkajs", { timeout: 90_000 }, async () => {
  await sendInRandomChunksAndReadBack(SEED, {});
});

test("the same with a sharded node's frames moved between threads instead of copied into frame slots", { timeout: 90_000 }, async () => {
  // Sharded (RUNNEL_TEST_SHARDS=2): the front moves a frame's buffer, or a socket read with the last of its frames,
  // to the shard, which gives it back to the front's frame buffer pool. Single-shard: another seed of the first test.
  await sendInRandomChunksAndReadBack(SEED + 1, { "runnel.shards.frame.slots": "false" });
});

test("the same with frames moved and dispatch stopping between frames inside socket reads", { timeout: 90_000 }, async () => {
  // Three requests in flight per connection: the framing stops between frames with the rest of a read unread, so a
  // read's frames go out over several turns and the read may move only once nothing of it is left unread.
  await sendInRandomChunksAndReadBack(SEED + 2, { "runnel.shards.frame.slots": "false", "queued.max.requests.per.connection": "3" });
});
