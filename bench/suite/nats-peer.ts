/**
 * NATS JetStream doing the same jobs on the same payloads, with the `nats` npm client: 4 file-backed streams
 * (the counterpart of 4 partitions), asynchronous publishes with a window of unacknowledged messages, ordered
 * pull consumers reading everything back, and end-to-end latency at a fixed rate. A JetStream publish
 * acknowledgement means the message is in the stream's file store (page cache): nats-server 2.9 has no per-message
 * fsync setting (`sync_interval` arrived in 2.10), so it is the counterpart of acks=1, not of acks=all.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AckPolicy, connect, DeliverPolicy, type JetStreamClient, type NatsConnection, StorageType } from "nats";
import { sideReport, type SideReport } from "../../src/bench/bench-report.ts";
import { LatencyHistogram } from "../../src/bench/latency-histogram.ts";
import { payloadPool, readStamp, stampTime } from "../../src/bench/payloads.ts";
import { freePort, type Server, startServer, waitForPort } from "./processes.ts";
import type { E2eFigures } from "./redis-peer.ts";

/** Streams written in parallel (as many as Runnel's partitions). */
export const NATS_STREAMS = 4;
/** Unacknowledged publishes allowed at once. */
const PUBLISH_WINDOW = 4096;
/** Messages an ordered consumer buffers. */
const CONSUME_BATCH = 10_000;
/** How long e2e waits for consumers to catch up after producing (ms). */
const E2E_DRAIN_MS = 10_000;

/** A running nats-server with JetStream. */
export interface NatsServer {
  /** Its port. */
  port: number;
  /** The process. */
  server: Server;
  /** Stops it and removes its store. */
  stop(): Promise<void>;
}

/** Starts nats-server with JetStream on a free port and a fresh store directory. */
export async function startNats(): Promise<NatsServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-nats-"));
  const port = await freePort();
  const server = startServer("nats-server", ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir]);
  await waitForPort(port, 10_000);
  return {
    port,
    server,
    async stop() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function session(port: number): Promise<{ nc: NatsConnection; js: JetStreamClient }> {
  const nc = await connect({ servers: `127.0.0.1:${port}`, maxReconnectAttempts: 0 });
  return { nc, js: nc.jetstream() };
}

/** Creates the `prefix` streams (file storage, one subject each). */
async function createStreams(nc: NatsConnection, prefix: string): Promise<string[]> {
  const jsm = await nc.jetstreamManager();
  const names: string[] = [];
  for (let i = 0; i < NATS_STREAMS; i++) {
    const name = `${prefix}_${i}`;
    await jsm.streams.add({ name, subjects: [`${prefix}.${i}`], storage: StorageType.File });
    names.push(name);
  }
  return names;
}

/** The server version the client saw. */
export async function natsVersion(port: number): Promise<string> {
  const { nc } = await session(port);
  const v = nc.info?.version ?? "?";
  await nc.close();
  return v;
}

/**
 * Publishes with acknowledgements, tracked without a promise or timer per message: every publish names one reply
 * subject, JetStream answers each with a PubAck `{"stream": S, "seq": N}`, and since each stream here is fresh,
 * seq N is the N-th message sent to S, whose send time is looked up for the latency. (This is what the Go
 * client's PublishAsync does; the JS client's `js.publish` costs a promise, an inbox and a timer per message.)
 */
class AckedPublisher {
  /** Acknowledged messages. */
  acked = 0;
  /** Messages sent. */
  sent = 0;
  /** Negative acknowledgements. */
  errors = 0;
  /** First negative acknowledgement. */
  firstError: string | null = null;
  /** Publish-to-ack latency (us). */
  readonly latency = new LatencyHistogram();
  private readonly sentAt = new Map<string, number[]>();
  private readonly reply: string;
  private wake: (() => void) | null = null;
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly nc: NatsConnection,
    streams: readonly string[],
  ) {
    for (const s of streams) this.sentAt.set(s, []);
    this.reply = `_INBOX.bench.${Math.random().toString(36).slice(2)}`;
    nc.subscribe(this.reply, {
      callback: (_err, m) => {
        const now = performance.now();
        const ack = JSON.parse(this.decoder.decode(m.data)) as { stream?: string; seq?: number; error?: { description?: string } };
        if (ack.error !== undefined || ack.stream === undefined || ack.seq === undefined) {
          this.errors++;
          this.firstError ??= ack.error?.description ?? "bad PubAck";
        } else {
          const t = this.sentAt.get(ack.stream)?.[ack.seq - 1];
          if (t !== undefined) this.latency.record((now - t) * 1000);
          this.acked++;
        }
        const w = this.wake;
        this.wake = null;
        w?.();
      },
    });
  }

  /** Publishes `data` to `subject` (stored in `stream`), recording the send time. */
  publish(subject: string, stream: string, data: Uint8Array, at: number): void {
    this.sentAt.get(stream)!.push(at);
    this.sent++;
    this.nc.publish(subject, data, { reply: this.reply });
  }

  /** Messages sent and not yet answered. */
  get inflight(): number {
    return this.sent - this.acked - this.errors;
  }

  /** Resolves at the next acknowledgement (or after `ms`). */
  nextAck(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** Longest wait for outstanding acknowledgements at the end of a run (ms). */
const ACK_DRAIN_MS = 30_000;

/** Publishes as fast as the window allows for `seconds`; latency is publish to acknowledgement. */
export async function natsProduce(port: number, prefix: string, recordSize: number, seconds: number): Promise<SideReport> {
  const pool = payloadPool(recordSize);
  const { nc } = await session(port);
  const streams = await createStreams(nc, prefix);
  const pub = new AckedPublisher(nc, streams);
  const start = performance.now();
  const deadline = start + seconds * 1000;
  for (let i = 0; performance.now() < deadline; i++) {
    if (pub.inflight >= PUBLISH_WINDOW) await pub.nextAck(100);
    const k = i % NATS_STREAMS;
    pub.publish(`${prefix}.${k}`, streams[k], pool[i % pool.length], performance.now());
  }
  const drainUntil = performance.now() + ACK_DRAIN_MS;
  while (pub.inflight > 0 && performance.now() < drainUntil) await pub.nextAck(100);
  const secs = (performance.now() - start) / 1000;
  await nc.close();
  return sideReport(pub.acked, pub.acked * recordSize, secs, pub.errors, pub.firstError, pub.latency.summary());
}

/** A pull consumer that delivers everything in `stream` without acknowledgements (the fastest read mode). */
async function readAll(nc: NatsConnection, js: JetStreamClient, stream: string, batch: number) {
  const jsm = await nc.jetstreamManager();
  const name = `reader_${Math.random().toString(36).slice(2)}`;
  await jsm.consumers.add(stream, { durable_name: name, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
  const consumer = await js.consumers.get(stream, name);
  return consumer.consume({ max_messages: batch });
}

/** Longest a consume run may take before it stops with what it has (ms). */
const CONSUME_TIMEOUT_MS = 30_000;

/** Reads every message of the `prefix` streams back with ordered consumers (one per stream, concurrently). */
export async function natsConsume(port: number, prefix: string): Promise<SideReport> {
  const { nc, js } = await session(port);
  const jsm = await nc.jetstreamManager();
  const names = Array.from({ length: NATS_STREAMS }, (_, i) => `${prefix}_${i}`);
  const totals = await Promise.all(names.map(async (n) => (await jsm.streams.info(n)).state.messages));
  let records = 0;
  let bytes = 0;
  const start = performance.now();
  await Promise.all(
    names.map(async (name, i) => {
      if (totals[i] === 0) return;
      const messages = await readAll(nc, js, name, CONSUME_BATCH);
      // Bounded: a stream that stops delivering short of its count ends the run instead of hanging it.
      const limit = setTimeout(() => messages.stop(), CONSUME_TIMEOUT_MS);
      let got = 0;
      for await (const m of messages) {
        bytes += m.data.length;
        if (++got >= totals[i]) break;
      }
      clearTimeout(limit);
      messages.stop();
      if (got < totals[i]) throw new Error(`stream ${name} delivered ${got} of ${totals[i]} messages in ${CONSUME_TIMEOUT_MS / 1000} s`);
      records += got;
    }),
  );
  const secs = (performance.now() - start) / 1000;
  await nc.close();
  return sideReport(records, bytes, secs, 0, null, null);
}

/** Publishes at `rate` messages/s for `seconds` while ordered consumers time every message's arrival. */
export async function natsE2e(port: number, prefix: string, recordSize: number, rate: number, seconds: number, warmupS = 0): Promise<E2eFigures> {
  // Messages sent during the warm-up are delivered but left out of the latency figures.
  let measureFrom = Infinity;
  const pool = payloadPool(recordSize);
  const { nc, js } = await session(port);
  const streams = await createStreams(nc, prefix);
  const pub = new AckedPublisher(nc, streams);
  const e2e = new LatencyHistogram();
  let received = 0;
  const consumers = await Promise.all(streams.map((n) => readAll(nc, js, n, 1000)));
  const reading = consumers.map(async (messages) => {
    for await (const m of messages) {
      const sentAt = readStamp(m.data);
      if (sentAt >= measureFrom) e2e.record((performance.now() - sentAt) * 1000);
      received++;
    }
  });
  const start = performance.now();
  measureFrom = start + warmupS * 1000;
  const deadline = start + seconds * 1000;
  // Each tick publishes the messages that are due (the client queues a reference, so each needs its own buffer).
  while (performance.now() < deadline) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate) - pub.sent;
    for (let j = 0; j < due; j++) {
      const idx = pub.sent;
      const k = idx % NATS_STREAMS;
      const value = pool[idx % pool.length].slice();
      const t = performance.now();
      stampTime(value, t);
      pub.publish(`${prefix}.${k}`, streams[k], value, t);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  const ackUntil = performance.now() + ACK_DRAIN_MS;
  while (pub.inflight > 0 && performance.now() < ackUntil) await pub.nextAck(100);
  const produceSecs = (performance.now() - start) / 1000;
  const drainUntil = performance.now() + E2E_DRAIN_MS;
  while (received < pub.acked && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 5));
  for (const m of consumers) m.stop();
  await Promise.all(reading);
  await nc.close();
  return { produce: sideReport(pub.acked, pub.acked * recordSize, produceSecs, pub.errors, pub.firstError, pub.latency.summary()), e2eLatencyMs: e2e.summary(), received };
}
