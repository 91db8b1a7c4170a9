/**
 * The final report of `runnel bench`: one JSON document (for `--json` and for the bench suite) and its
 * plain-text rendering, with throughput in records/s and MB/s (10^6 bytes) and latency percentiles in ms.
 */
import { type BrokerPhases, formatBrokerPhases } from "./broker-phases.ts";
import type { E2eBreakdown } from "./e2e-breakdown.ts";
import type { LatencySummary } from "./latency-histogram.ts";

/** Throughput of one side of a run. */
export interface SideReport {
  /** Records completed. */
  records: number;
  /** Value bytes completed. */
  bytes: number;
  /** Seconds the side ran (first send/poll to last ack/record). */
  seconds: number;
  /** Records per second. */
  recordsPerSec: number;
  /** MB (10^6 bytes) per second. */
  mbPerSec: number;
  /** Records that failed. */
  errors: number;
  /** First failure, or null. */
  firstError: string | null;
  /** Latency percentiles (send to ack for producing), or null when not measured. */
  latencyMs: LatencySummary | null;
}

/** The whole result of a `runnel bench` run. */
export interface BenchReport {
  /** produce, consume or e2e. */
  kind: "produce" | "consume" | "e2e";
  /** Every setting the run used. */
  settings: Record<string, string | number | boolean | null>;
  /** Producing side, when the run produced. */
  produce: SideReport | null;
  /** Consuming side, when the run consumed. */
  consume: SideReport | null;
  /** Producer-send to consumer-receive latency (e2e runs). */
  e2eLatencyMs: LatencySummary | null;
  /** Client-side parts of the end-to-end latency (e2e runs). */
  e2eBreakdownMs?: E2eBreakdown;
  /** The broker's request phases over the measured part of the run (`--broker-metrics`), when read. */
  broker?: BrokerPhases | null;
}

/** Builds a side's report from its totals. */
export function sideReport(records: number, bytes: number, seconds: number, errors: number, firstError: string | null, latencyMs: LatencySummary | null): SideReport {
  const s = seconds > 0 ? seconds : Number.MIN_VALUE;
  return {
    records,
    bytes,
    seconds: Math.round(seconds * 1000) / 1000,
    recordsPerSec: Math.round((records / s) * 10) / 10,
    mbPerSec: Math.round((bytes / 1e6 / s) * 100) / 100,
    errors,
    firstError,
    latencyMs: latencyMs !== null && latencyMs.count > 0 ? latencyMs : null,
  };
}

const fmt = (n: number, digits = 2) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** One line of latency percentiles. */
export function latencyLine(label: string, l: LatencySummary): string {
  return `  ${label} (ms): mean ${fmt(l.mean)}  p50 ${fmt(l.p50)}  p90 ${fmt(l.p90)}  p99 ${fmt(l.p99)}  p99.9 ${fmt(l.p999)}  max ${fmt(l.max)}  (${l.count.toLocaleString("en-US")} samples)`;
}

function sideLines(name: string, side: SideReport, latencyLabel: string): string[] {
  const lines = [
    `${name}: ${side.records.toLocaleString("en-US")} records in ${fmt(side.seconds)} s: ${fmt(side.recordsPerSec, 1)} records/s, ${fmt(side.mbPerSec)} MB/s` +
      (side.errors > 0 ? `, ${side.errors} errors (first: ${side.firstError})` : ""),
  ];
  if (side.latencyMs !== null) lines.push(latencyLine(latencyLabel, side.latencyMs));
  return lines;
}

/** The plain-text report. */
export function formatReport(r: BenchReport): string {
  const settings = Object.entries(r.settings)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  const lines = [`runnel bench ${r.kind}: ${settings}`];
  if (r.produce !== null) lines.push(...sideLines("produce", r.produce, "send-to-ack latency"));
  if (r.consume !== null) lines.push(...sideLines("consume", r.consume, "latency"));
  if (r.e2eLatencyMs !== null && r.e2eLatencyMs.count > 0) lines.push(latencyLine("end-to-end latency", r.e2eLatencyMs));
  if (r.e2eBreakdownMs !== undefined) lines.push(...formatBreakdown(r.e2eBreakdownMs));
  if (r.broker != null) lines.push(...formatBrokerPhases(r.broker));
  return lines.join("\n") + "\n";
}

const BREAKDOWN_LABELS: readonly [Exclude<keyof E2eBreakdown, "produceRequests" | "producerCpuS" | "consumerCpuS">, string][] = [
  ["producerBatchAge", "producer: batch age at send (per record)"],
  ["producerBeyondLinger", "producer: beyond linger.ms (per record)"],
  ["producerTimerLate", "producer: linger timer lateness"],
  ["producerWindowStalls", "producer: in-flight window stalls"],
  ["sendToFetchResponse", "send to Fetch response decoded"],
  ["inConsumer", "Fetch response decoded to record timed"],
  ["producerLoopLag", "producer event-loop lag"],
  ["consumerLoopLag", "consumer event-loop lag"],
];

function formatBreakdown(b: E2eBreakdown): string[] {
  const cpu = `producer CPU ${b.producerCpuS} s, consumer CPU ${b.consumerCpuS} s`;
  const lines = [`end-to-end breakdown (client side; ${b.produceRequests.toLocaleString("en-US")} Produce requests; ${cpu}):`];
  for (const [key, label] of BREAKDOWN_LABELS) if (b[key].count > 0) lines.push(latencyLine(` ${label}`, b[key]));
  return lines;
}
