/**
 * Issue 16 acceptance 4: 100,000 mutated frames built from real captured client requests (the corpus in
 * tests/fixtures/fuzz-corpus, recorded from kcat, kafkajs and confluent-kafka sessions by
 * tests/support/capture-fuzz-corpus.ts) cause no crash, no internal error (no ERROR log line: a handler exception
 * answered with UNKNOWN_SERVER_ERROR counts as a failure) and no effect on other connections: a client connected
 * over TCP before the run still gets its sentinel records back, byte for byte, afterwards.
 *
 * The frames go through the broker's real connection code (framing, decoding, dispatch, encoding) on in-process
 * sockets, which is what makes 100,000 fit in about a minute. Seeded: `RUNNEL_FUZZ_SEED=n` replays a run and a
 * failure names its seed and frame number; `RUNNEL_FUZZ_FRAMES` changes the count (bench-sized runs).
 * CreateTopics and CreatePartitions are left out: their mutations ask for up to 100,000 partitions and only test
 * the disk.
 *
 * The second test sends fewer mutated frames (`RUNNEL_FUZZ_TCP_FRAMES`, default 1,500) to the node over TCP, each on
 * its own connection, so that it runs against a sharded node too (RUNNEL_TEST_SHARDS): the frames go through the
 * front's framing, decoding and routing and the shards' handlers, and the node's whole log is checked after it stopped.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { IN_PROCESS } from "../support/group-state.ts";
import { RawClient } from "../support/raw-client.ts";
import type { Connection } from "../../src/platform/net.ts";
import { kafkaConnection, responseWriter, type ConnectionOptions } from "../../src/broker/connection.ts";
import { RequestBudget } from "../../src/broker/request-budget.ts";
import { ConnectionTimeouts } from "../../src/broker/connection-timeouts.ts";
import { systemClock } from "../../src/platform/clock.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";

const SEED = Number(process.env.RUNNEL_FUZZ_SEED ?? 16016);
const FRAMES = Number(process.env.RUNNEL_FUZZ_FRAMES ?? 100_000);
const CORPUS_DIR = path.resolve(import.meta.dirname, "..", "fixtures", "fuzz-corpus");
const SKIP_APIS = new Set([19, 37]);
const TCP_FRAMES = Number(process.env.RUNNEL_FUZZ_TCP_FRAMES ?? 1_500);
/** Connections with a mutated frame in flight at once in the TCP test. */
const TCP_PARALLEL = 50;
/** How long a TCP-sent frame may stay unanswered before its connection is closed (long polls, joins, acks=0). */
const TCP_WAIT_MS = 300;

/** sfc32: a small seeded generator, so a run replays from its seed. */
function seeded(seed: number): () => number {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}

const INTERESTING: number[][] = [[0], [0xff], [0x7f], [0x80], [0, 0], [0xff, 0xff], [0x7f, 0xff], [0x80, 0x00], [0, 0, 0, 0], [0xff, 0xff, 0xff, 0xff], [0x7f, 0xff, 0xff, 0xff], [0x80, 0, 0, 0], [0, 0, 0, 1]];

/** One mutation of `f` (a body without its size prefix); the API key and version bytes are kept 80% of the time. */
function mutate(f: Uint8Array, rnd: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(rnd() * n);
  const from = rnd() < 0.8 ? Math.min(4, f.length) : 0;
  const at = from + pick(Math.max(1, f.length - from));
  switch (pick(7)) {
    case 0: { // flip a bit
      const g = f.slice();
      if (at < g.length) g[at] ^= 1 << pick(8);
      return g;
    }
    case 1: { // an interesting value (boundaries of int8/16/32, lengths of -1 and 0)
      const g = f.slice();
      const v = INTERESTING[pick(INTERESTING.length)];
      for (let i = 0; i < v.length && at + i < g.length; i++) g[at + i] = v[i];
      return g;
    }
    case 2: // truncate
      return f.slice(0, at);
    case 3: { // insert random bytes
      const extra = Uint8Array.from({ length: 1 + pick(16) }, () => pick(256));
      return new Uint8Array([...f.subarray(0, at), ...extra, ...f.subarray(at)]);
    }
    case 4: { // duplicate a slice
      const len = 1 + pick(Math.min(64, f.length));
      return new Uint8Array([...f.subarray(0, at), ...f.subarray(at, at + len), ...f.subarray(at)]);
    }
    case 5: { // delete a slice
      const len = 1 + pick(8);
      return new Uint8Array([...f.subarray(0, at), ...f.subarray(at + len)]);
    }
    default: { // random byte
      const g = f.slice();
      if (at < g.length) g[at] = pick(256);
      return g;
    }
  }
}

class MemorySocket implements Connection {
  readonly remote = "fuzz:1";
  readonly remoteIp = "fuzz";
  closed = false;
  write(): boolean {
    return true;
  }
  pause(): void {}
  resume(): void {}
  close(): void {
    this.closed = true;
  }
}

/** The captured frames (bodies without their size prefix), less the APIs left out. */
function loadCorpus(): { name: string; body: Uint8Array }[] {
  const corpus = fs.readdirSync(CORPUS_DIR).filter((n) => n.endsWith(".bin")).sort()
    .map((n) => ({ name: n, body: new Uint8Array(fs.readFileSync(path.join(CORPUS_DIR, n))).subarray(4) }))
    .filter((c) => !SKIP_APIS.has((c.body[0] << 8) | c.body[1]));
  assert.ok(corpus.length >= 50, `the corpus has ${corpus.length} frames`);
  return corpus;
}

/** Starts the fuzzed node and writes the witness connection's sentinel batch to it. */
async function nodeWithSentinel(lines: string[]): Promise<{ b: TestBroker; witness: RawClient; batch: Uint8Array }> {
  const b = await startTestBroker({ "group.min.session.timeout.ms": "1", "group.max.session.timeout.ms": "2000", "num.partitions": "2" }, undefined, lines);
  const witness = await RawClient.connect(b.port);
  await b.broker.createTopic("sentinel-7f3a", 1, 1, {}, false);
  const bb = new BatchBuilder(1 << 12);
  bb.reset({});
  for (let i = 0; i < 5; i++) bb.append(1_700_000_000_000 + i, null, new TextEncoder().encode(`sentinel ${i}`));
  const batch = bb.finish().slice();
  const produced = await witness.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: "sentinel-7f3a", partitionData: [{ index: 0, records: batch }] }] });
  assert.equal(produced.responses[0].partitionResponses[0].errorCode, 0);
  return { b, witness, batch };
}

/** The witness connection was untouched: it still serves and its records are intact. */
async function assertSentinelIntact(witness: RawClient, batch: Uint8Array): Promise<void> {
  const fetched = await witness.request(1, 12, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: "sentinel-7f3a", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [], rackId: "",
  });
  const p = fetched.responses[0].partitions[0];
  assert.equal(p.errorCode, 0);
  const records = p.records as Uint8Array;
  assert.deepEqual(Uint8Array.from(records.subarray(16)), batch.subarray(16), "the sentinel batch comes back byte for byte (after the base offset, length and leader epoch the broker writes)");
}

/** A mutated frame (with its size prefix, 3% of them wrong) from a random corpus frame. */
function mutatedFrame(corpus: readonly { name: string; body: Uint8Array }[], rnd: () => number): { frame: Uint8Array; from: string } {
  const base = corpus[Math.floor(rnd() * corpus.length)];
  let body: Uint8Array = base.body;
  const rounds = rnd() < 0.7 ? 1 : 2 + Math.floor(rnd() * 3); // mostly one mutation, so most frames still reach a handler
  for (let r = 0; r < rounds; r++) body = mutate(body, rnd);
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setInt32(0, rnd() < 0.97 ? body.length : Math.floor(rnd() * 2 ** 32) | 0);
  frame.set(body, 4);
  return { frame, from: base.name };
}

test(`${FRAMES} mutated captured frames: no crash, no internal error, other connections unaffected (seed ${SEED})`, { timeout: 600_000, skip: IN_PROCESS ? false : "drives the in-process broker's handlers over in-memory sockets (the next test sends frames to the node over TCP)" }, async () => {
  const corpus = loadCorpus();
  const lines: string[] = [];
  const { b, witness, batch } = await nodeWithSentinel(lines);
  try {

    const connLines: string[] = [];
    const opts: ConnectionOptions = {
      handlers: b.broker.handlers,
      maxRequestBytes: 100 * 1024 * 1024,
      maxInFlight: 100,
      budget: new RequestBudget(100_000, -1),
      timeouts: new ConnectionTimeouts(systemClock, -1, -1),
      writer: responseWriter(),
      monotonicMs: () => performance.now(),
      log: (level, msg) => connLines.push(`${level.toUpperCase()} ${msg}`),
    };
    const rnd = seeded(SEED);
    const internal = () => [...lines, ...connLines].filter((l) => l.startsWith("ERROR"));
    let closedByBroker = 0;
    const open: ReturnType<typeof kafkaConnection>[] = [];
    const started = performance.now();
    for (let i = 0; i < FRAMES; i++) {
      const { frame, from } = mutatedFrame(corpus, rnd);
      const sock = new MemorySocket();
      const h = kafkaConnection(sock, opts);
      h.onData(frame);
      if (sock.closed) {
        closedByBroker++;
        h.onClose();
      } else open.push(h);
      if (i % 1000 === 999) {
        // Let asynchronous handlers finish (fsyncs, timers) and encode their responses, then hang up on the batch
        // (long polls still waiting are cut short).
        await new Promise((r) => setTimeout(r, 5));
        for (const c of open.splice(0)) c.onClose();
        const errors = internal();
        assert.deepEqual(errors, [], `seed ${SEED}, by frame ${i} (from ${from}): internal errors:\n${errors.slice(0, 5).join("\n")}`);
      }
    }
    await new Promise((r) => setTimeout(r, 50));
    for (const c of open.splice(0)) c.onClose();
    assert.deepEqual(internal(), [], `seed ${SEED}: internal errors:\n${internal().slice(0, 5).join("\n")}`);
    if (process.env.RUNNEL_FUZZ_VERBOSE) console.log(`${FRAMES} frames in ${((performance.now() - started) / 1000).toFixed(1)} s, ${closedByBroker} closed by the broker`);

    await assertSentinelIntact(witness, batch);
  } finally {
    witness.close();
    await b.stop();
  }
});

test(`${TCP_FRAMES} mutated captured frames over TCP, each on its own connection: no crash, no internal error, the witness unaffected (seed ${SEED})`, { timeout: 300_000 }, async () => {
  const corpus = loadCorpus();
  const lines: string[] = [];
  const { b, witness, batch } = await nodeWithSentinel(lines);
  let stopped = false;
  try {
    const rnd = seeded(SEED + 1);
    const outcomes = { answered: 0, closed: 0, waiting: 0 };
    for (let i = 0; i < TCP_FRAMES; i += TCP_PARALLEL) {
      const frames = Array.from({ length: Math.min(TCP_PARALLEL, TCP_FRAMES - i) }, () => mutatedFrame(corpus, rnd).frame);
      await Promise.all(frames.map(async (frame) => {
        const c = await RawClient.connect(b.port);
        try {
          const outcome = await Promise.race([
            c.sendRaw(frame).then((r): "closed" | "answered" => (r === null ? "closed" : "answered")),
            new Promise<"waiting">((r) => setTimeout(() => r("waiting"), TCP_WAIT_MS)),
          ]);
          outcomes[outcome]++;
        } finally {
          c.close();
        }
      }));
    }
    if (process.env.RUNNEL_FUZZ_VERBOSE) console.log(`${TCP_FRAMES} frames over TCP:`, outcomes);
    assert.ok(outcomes.answered > 0 && outcomes.closed > 0, `some frames were answered, some closed their connection: ${JSON.stringify(outcomes)}`);
    await assertSentinelIntact(witness, batch);
    witness.close();
    await b.stop(); // a sharded node's stop also fails unless it exits with 0
    stopped = true;
    const internal = lines.filter((l) => l.startsWith("ERROR"));
    assert.deepEqual(internal, [], `seed ${SEED}: internal errors:\n${internal.slice(0, 5).join("\n")}`);
  } finally {
    witness.close();
    if (!stopped) await b.stop();
  }
});
