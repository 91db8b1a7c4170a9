/**
 * Redis Streams doing the jobs Runnel does in the suite, on the same payloads: XADD pipelined into 4 streams (the
 * counterpart of 4 partitions) from 2 connections with several pipelines in flight each, XREAD of everything
 * back (one connection per stream), and end-to-end latency at a fixed rate (XADD paced, XREAD BLOCK readers).
 * Two durability modes: in memory only (no AOF, no snapshots: Redis's fastest) for the acks=1 comparison, and
 * `appendonly yes` + `appendfsync always` for acks=all.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { sideReport, type SideReport } from "../../src/bench/bench-report.ts";
import { LatencyHistogram, type LatencySummary } from "../../src/bench/latency-histogram.ts";
import { payloadPool, readStamp, stampTime } from "../../src/bench/payloads.ts";
import { freePort, type Server, startServer, waitForPort } from "./processes.ts";
import { encodeCommand, RespConnection, type RespValue } from "./resp.ts";

/** Streams written in parallel (as many as Runnel's partitions). */
export const REDIS_STREAMS = 4;
/** Producer connections. */
const PRODUCER_CONNECTIONS = 2;
/** Commands per pipeline write. */
const PIPELINE_COMMANDS = 500;
/** Pipelines in flight per connection. */
const PIPELINES_IN_FLIGHT = 4;
/** Most bytes of pre-encoded commands kept for a throughput run. */
const MAX_ENCODED_BYTES = 64 * 1024 * 1024;
/** Entries per XREAD when reading back. */
const XREAD_COUNT = 5000;
/** How long e2e waits for readers to catch up after producing (ms). */
const E2E_DRAIN_MS = 10_000;

/** Durability mode. */
export type RedisMode = "memory" | "fsync-always";

/** A running redis-server. */
export interface RedisServer {
  /** Its port. */
  port: number;
  /** The process. */
  server: Server;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

/** Starts redis-server on a free port with a fresh directory. */
export async function startRedis(mode: RedisMode): Promise<RedisServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-redis-"));
  const port = await freePort();
  const persistence = mode === "memory" ? ["--appendonly", "no"] : ["--appendonly", "yes", "--appendfsync", "always"];
  const server = startServer("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--daemonize", "no", "--protected-mode", "no", ...persistence]);
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

/** Redis's version line. */
export async function redisVersion(port: number): Promise<string> {
  const c = await RespConnection.connect(port);
  const info = String(await c.call(["INFO", "server"]));
  c.close();
  return /redis_version:(\S+)/.exec(info)?.[1] ?? "?";
}

function streamName(prefix: string, i: number): string {
  return `${prefix}-${i}`;
}

/** XADD as fast as pipelining allows for `seconds`; latency is each pipeline's send-to-last-reply time. */
export async function redisProduce(port: number, prefix: string, recordSize: number, seconds: number): Promise<SideReport> {
  const pool = payloadPool(recordSize);
  const perCommand = recordSize + 64;
  const maxChunks = Math.max(1, Math.floor(MAX_ENCODED_BYTES / (perCommand * PIPELINE_COMMANDS)));
  const chunkCount = Math.min(maxChunks, Math.ceil(pool.length / PIPELINE_COMMANDS));
  const chunks: Buffer[] = [];
  for (let k = 0; k < chunkCount; k++) {
    const stream = streamName(prefix, k % REDIS_STREAMS);
    const cmds: Buffer[] = [];
    for (let j = 0; j < PIPELINE_COMMANDS; j++) cmds.push(encodeCommand(["XADD", stream, "*", "v", pool[(k * PIPELINE_COMMANDS + j) % pool.length]]));
    chunks.push(Buffer.concat(cmds));
  }
  const conns = await Promise.all(Array.from({ length: PRODUCER_CONNECTIONS }, () => RespConnection.connect(port)));
  const hist = new LatencyHistogram();
  let records = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let next = 0;
  await Promise.all(
    conns.flatMap((c) =>
      Array.from({ length: PIPELINES_IN_FLIGHT }, async () => {
        while (performance.now() < deadline) {
          const chunk = chunks[next++ % chunks.length];
          const t = performance.now();
          await c.pipeline(chunk, PIPELINE_COMMANDS);
          hist.recordMany((performance.now() - t) * 1000, PIPELINE_COMMANDS);
          records += PIPELINE_COMMANDS;
        }
      }),
    ),
  );
  const secs = (performance.now() - start) / 1000;
  const errors = conns.reduce((n, c) => n + c.errors, 0);
  const firstError = conns.find((c) => c.firstError !== null)?.firstError ?? null;
  for (const c of conns) c.close();
  return sideReport(records - errors, (records - errors) * recordSize, secs, errors, firstError, hist.summary());
}

/** The entries of one stream in an XREAD reply: [[name, [[id, [field, value, ...]], ...]]]. */
function entriesOf(reply: RespValue): RespValue[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const stream = reply[0] as RespValue[];
  return (stream[1] as RespValue[]) ?? [];
}

/** Reads every entry of the `prefix` streams back (one connection per stream, XREAD COUNT from the start). */
export async function redisConsume(port: number, prefix: string): Promise<SideReport> {
  const conns = await Promise.all(Array.from({ length: REDIS_STREAMS }, () => RespConnection.connect(port)));
  const lengths = await Promise.all(conns.map((c, i) => c.call(["XLEN", streamName(prefix, i)]) as Promise<number>));
  let records = 0;
  let bytes = 0;
  const start = performance.now();
  await Promise.all(
    conns.map(async (c, i) => {
      const stream = streamName(prefix, i);
      let last = "0-0";
      let got = 0;
      while (got < lengths[i]) {
        const entries = entriesOf(await c.call(["XREAD", "COUNT", String(XREAD_COUNT), "STREAMS", stream, last]));
        if (entries.length === 0) break;
        for (const e of entries) {
          const fields = (e as RespValue[])[1] as Buffer[];
          bytes += fields[1].length;
        }
        got += entries.length;
        last = String((entries[entries.length - 1] as RespValue[])[0]);
      }
      records += got;
    }),
  );
  const secs = (performance.now() - start) / 1000;
  for (const c of conns) c.close();
  return sideReport(records, bytes, secs, 0, null, null);
}

/** End-to-end figures of a paced run. */
export interface E2eFigures {
  /** Producing side (latency: send to reply). */
  produce: SideReport;
  /** Send to receive latency. */
  e2eLatencyMs: LatencySummary;
  /** Records received. */
  received: number;
}

/** XADD at `rate` records/s for `seconds` while XREAD BLOCK readers time every entry's arrival. */
export async function redisE2e(port: number, prefix: string, recordSize: number, rate: number, seconds: number, warmupS = 0): Promise<E2eFigures> {
  // Records sent during the warm-up are delivered but left out of the latency figures.
  let measureFrom = Infinity;
  const pool = payloadPool(recordSize);
  // One command template per stream; the payload part is overwritten per record.
  const templates = Array.from({ length: REDIS_STREAMS }, (_, i) => encodeCommand(["XADD", streamName(prefix, i), "*", "v", new Uint8Array(recordSize)]));
  const producer = await RespConnection.connect(port);
  const readers = await Promise.all(Array.from({ length: REDIS_STREAMS }, () => RespConnection.connect(port)));
  const e2e = new LatencyHistogram();
  const ack = new LatencyHistogram();
  let received = 0;
  let sent = 0;
  let acked = 0;
  let stopReading = false;
  const reading = readers.map(async (c, i) => {
    let last = "0-0";
    const stream = streamName(prefix, i);
    while (!stopReading) {
      const entries = entriesOf(await c.call(["XREAD", "BLOCK", "100", "COUNT", "1000", "STREAMS", stream, last]));
      const now = performance.now();
      for (const e of entries) {
        const sentAt = readStamp(((e as RespValue[])[1] as Buffer[])[1]);
        if (sentAt >= measureFrom) e2e.record((now - sentAt) * 1000);
      }
      received += entries.length;
      if (entries.length > 0) last = String((entries[entries.length - 1] as RespValue[])[0]);
    }
  });
  const start = performance.now();
  measureFrom = start + warmupS * 1000;
  const deadline = start + seconds * 1000;
  const inflight: Promise<void>[] = [];
  // Each tick sends the records that are due as one pipeline.
  while (performance.now() < deadline) {
    const now = performance.now();
    const due = Math.floor(((now - start) / 1000) * rate) - sent;
    if (due > 0) {
      const parts: Buffer[] = [];
      for (let j = 0; j < due; j++) {
        const idx = sent + j;
        const t = templates[idx % REDIS_STREAMS];
        const cmd = Buffer.from(t);
        const valueAt = cmd.length - 2 - recordSize;
        const value = cmd.subarray(valueAt, valueAt + recordSize);
        value.set(pool[idx % pool.length]);
        stampTime(value, performance.now());
        parts.push(cmd);
      }
      const t0 = performance.now();
      sent += due;
      const n = due;
      inflight.push(
        producer.pipeline(Buffer.concat(parts), n).then(() => {
          ack.recordMany((performance.now() - t0) * 1000, n);
          acked += n;
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inflight);
  const produceSecs = (performance.now() - start) / 1000;
  const drainUntil = performance.now() + E2E_DRAIN_MS;
  while (received < acked && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 5));
  stopReading = true;
  await Promise.all(reading);
  producer.close();
  for (const c of readers) c.close();
  return { produce: sideReport(acked, acked * recordSize, produceSecs, producer.errors, producer.firstError, ack.summary()), e2eLatencyMs: e2e.summary(), received };
}
