/**
 * The consumer of `runnel bench e2e` in a process of its own, so that producer, consumer and broker do not share
 * one JavaScript thread: a record waiting for the producer's event loop is then not counted as end-to-end latency.
 * The parent starts this same `runnel` as `runnel bench e2e-consumer SETTINGS` and talks to it in JSON lines:
 * the child says `{"ready":true}` once its consumers know their positions. The stamps in the values are the
 * parent's performance.now() (each runtime counts it from its own start), so the parent then measures the offset
 * between the two clocks over the pipe, NTP-style: CLOCK_SYNC_ROUNDS pings `{"ping":t}` answered `{"pong":t,
 * "at":childNow}`, keeping the round with the shortest round trip (its half is the error bound, reported). Then
 * `{"go":true,"offset":ms}` starts the run (and the warm-up), `{"records":N}` says how many were acknowledged; the
 * child answers `{"result":...}` when it has them all (or E2E_DRAIN_MS later) and exits.
 */
import { runnelCommand } from "../cli/runnel-command.ts";
import { type LineChild, lineSplitter, startLineChild } from "../platform/child-process.ts";
import { awaitPositions, type ConsumeLoadSettings, connectConsumers, DrainStop, runConsumeLoad } from "./consume-load.ts";
import { type ConsumerBreakdown, consumerBreakdown, LoopLagProbe, ReceiveTiming } from "./e2e-breakdown.ts";
import type { LatencySummary } from "./latency-histogram.ts";
import { LoadMeter, startProgress } from "./load-meter.ts";

/** Longest an e2e run waits after producing for the consumers to catch up (ms). */
export const E2E_DRAIN_MS = 10_000;
/** Longest the consumers may take to learn their positions (ms). */
export const E2E_POSITIONS_TIMEOUT_MS = 15_000;
/** Ping rounds that measure the clock offset between parent and child. */
export const CLOCK_SYNC_ROUNDS = 50;

/** Everything the child needs. */
export interface E2eConsumerSettings {
  /** The consumers. */
  consume: ConsumeLoadSettings;
  /** Seconds after `go` that latency samples are left out of the final percentiles. */
  warmupS: number;
  /** Progress line interval on stderr (ms; 0 for none). */
  progressMs: number;
}

/** What the child reports. */
export interface E2eConsumerResult {
  /** Records received. */
  records: number;
  /** Value bytes received. */
  bytes: number;
  /** First poll to last record (s). */
  seconds: number;
  /** Send-to-receive latency after the warm-up. */
  latency: LatencySummary;
  /** The consumer's part of the latency breakdown. */
  breakdown: ConsumerBreakdown;
}

/** The parent's handle on a started consumer process. */
export interface E2eConsumerProcess {
  /** Resolves when the consumers are positioned (rejects if the child exits first). */
  readonly ready: Promise<void>;
  /** Measures the clock offset to the child; resolves with its error bound (half the best round trip, ms). */
  syncClocks(): Promise<number>;
  /** Tells the child that producing starts now. */
  go(): void;
  /** Tells the child how many records were acknowledged in all; resolves with its result. */
  finish(records: number): Promise<E2eConsumerResult>;
  /** Stops the child (after `finish`, or on failure). */
  stop(): Promise<void>;
}

/** Starts `runnel bench e2e-consumer` with `settings`. */
export function startE2eConsumerProcess(settings: E2eConsumerSettings): E2eConsumerProcess {
  const self = runnelCommand();
  let onReady: () => void = () => {};
  let onResult: (r: E2eConsumerResult) => void = () => {};
  let onPong: (sentAt: number, childAt: number) => void = () => {};
  const child: LineChild = startLineChild(self.command, [...self.args, "bench", "e2e-consumer", JSON.stringify(settings)], (line) => {
    if (!line.startsWith("{")) return;
    const msg = JSON.parse(line) as { ready?: boolean; result?: E2eConsumerResult; pong?: number; at?: number };
    if (msg.ready === true) onReady();
    if (msg.pong !== undefined) onPong(msg.pong, msg.at!);
    if (msg.result !== undefined) onResult(msg.result);
  });
  let offsetMs = 0;
  const exitedEarly = child.exited.then((code) => {
    throw new Error(`the e2e consumer process exited (${code}) before reporting`);
  });
  exitedEarly.catch(() => {});
  const ready = Promise.race([new Promise<void>((r) => (onReady = r)), exitedEarly]);
  const result = Promise.race([new Promise<E2eConsumerResult>((r) => (onResult = r)), exitedEarly]);
  return {
    ready,
    async syncClocks() {
      let bestRtt = Infinity;
      for (let i = 0; i < CLOCK_SYNC_ROUNDS; i++) {
        const pong = new Promise<[number, number]>((r) => (onPong = (sentAt, childAt) => r([sentAt, childAt])));
        child.writeLine(JSON.stringify({ ping: performance.now() }));
        const [sentAt, childAt] = await Promise.race([pong, exitedEarly]);
        const rtt = performance.now() - sentAt;
        if (rtt < bestRtt) {
          bestRtt = rtt;
          offsetMs = sentAt + rtt / 2 - childAt;
        }
      }
      return bestRtt / 2;
    },
    go: () => child.writeLine(JSON.stringify({ go: true, offset: offsetMs })),
    finish(records) {
      child.writeLine(JSON.stringify({ records }));
      return result;
    },
    async stop() {
      child.endInput();
      const killer = setTimeout(() => child.signal("SIGKILL"), E2E_DRAIN_MS + 5_000);
      await child.exited;
      clearTimeout(killer);
    },
  };
}

/** The child's side: runs the consumers and reports on stdout. Returns the exit code. */
export async function runE2eConsumerChild(settingsJson: string, progressWrite: (line: string) => void): Promise<number> {
  const s = JSON.parse(settingsJson) as E2eConsumerSettings;
  const write = (msg: object) => process.stdout.write(JSON.stringify(msg) + "\n");
  const consumers = await connectConsumers(s.consume);
  const meter = new LoadMeter();
  let offsetMs = 0;
  const until = new DrainStop(E2E_DRAIN_MS);
  let progress = startProgress([], 0, progressWrite);
  const timing = new ReceiveTiming();
  const loop = new LoopLagProbe(Infinity);
  try {
    await awaitPositions(consumers, E2E_POSITIONS_TIMEOUT_MS);
    let started!: () => void;
    const go = new Promise<void>((r) => (started = r));
    process.stdin.on(
      "data",
      lineSplitter((line) => {
        const msg = JSON.parse(line) as { ping?: number; go?: boolean; offset?: number; records?: number };
        if (msg.ping !== undefined) write({ pong: msg.ping, at: performance.now() });
        if (msg.go === true) {
          offsetMs = msg.offset!;
          if (s.warmupS > 0) meter.measureFromMs = performance.now() + s.warmupS * 1000;
          loop.measureFromMs = meter.measureFromMs;
          loop.start();
          progress = startProgress([{ name: "e2e", meter }], s.progressMs, progressWrite);
          started();
        }
        if (msg.records !== undefined) until.expect(msg.records);
      }),
    );
    process.stdin.on("end", () => {
      until.stop();
      started();
    });
    write({ ready: true });
    await go;
    const r = await runConsumeLoad(consumers, meter, until, offsetMs, timing);
    loop.stop();
    const breakdown = consumerBreakdown(timing, loop);
    const result: E2eConsumerResult = { records: r.records, bytes: r.bytes, seconds: r.seconds, latency: meter.latency.summary(), breakdown };
    write({ result });
    return 0;
  } finally {
    until.stop();
    loop.stop();
    progress.stop();
    process.stdin.pause();
    await Promise.all(consumers.map((c) => c.close().catch(() => {})));
  }
}
