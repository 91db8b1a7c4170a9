/**
 * What one run of the bench suite measured (written to bench/results/suite.json and rendered into REPORT.md).
 */
import type { SideReport } from "../../src/bench/bench-report.ts";
import type { LatencySummary } from "../../src/bench/latency-histogram.ts";
import type { Limits } from "./limits.ts";
import type { IngestFigures } from "./runnel-runs.ts";
import type { StartupFigures } from "./startup.ts";

/** Produce scenarios, by key: record size and acks. */
export const PRODUCE_SCENARIOS = [
  { key: "100B acks=1", recordSize: 100, acks: "1" },
  { key: "100B acks=all", recordSize: 100, acks: "all" },
  { key: "1KiB acks=1", recordSize: 1024, acks: "1" },
  { key: "1KiB acks=all", recordSize: 1024, acks: "all" },
] as const;

/** Consume scenarios, by key: record size (reading what the acks=1 run wrote). */
export const CONSUME_SCENARIOS = [
  { key: "100B", recordSize: 100, from: "100B acks=1" },
  { key: "1KiB", recordSize: 1024, from: "1KiB acks=1" },
] as const;

/** End-to-end figures of one system. */
export interface E2eResult {
  /** Producing side at the fixed rate. */
  produce: SideReport;
  /** Send-to-receive latency. */
  e2eLatencyMs: LatencySummary;
  /** Records received. */
  received: number;
}

/** One system's figures. */
export interface SystemResults {
  /** Produce runs by scenario key. */
  produce: Record<string, SideReport>;
  /** Consume runs by scenario key. */
  consume: Record<string, SideReport>;
  /** The fixed-rate end-to-end run (acks=all or the system's counterpart). */
  e2e: E2eResult | null;
}

/** One configuration of the batch.size x linger.ms x compression sweep. */
export interface SweepRow {
  /** batch.size. */
  batchSize: number;
  /** linger.ms. */
  lingerMs: number;
  /** compression.type. */
  compression: string;
  /** As-fast-as-possible run. */
  max: SideReport;
  /** Fixed-rate run (send-to-ack latency). */
  paced: SideReport;
}

/** Everything one suite run measured. */
export interface SuiteResults {
  /** ISO time of the run. */
  when: string;
  /** Seconds the whole suite took. */
  suiteSeconds: number;
  /** Commit the measured dist/runnel was built from ("+changes": with uncommitted changes); absent for --binary and before 2026-12-05. */
  commit?: string;
  /** The machine. */
  machine: { cpus: number; cpu: string; memGiB: number; kernel: string; loadAvgStart: number[]; loadAvgEnd: number[] };
  /** Versions of everything measured. */
  versions: Record<string, string>;
  /** Settings every scenario used. */
  settings: Record<string, string | number>;
  /** Physical limits. */
  limits: Limits;
  /** Start-up time and idle RSS per server. */
  startup: Record<string, StartupFigures | null>;
  /** Broker-only 1 MiB-batch figures from bench/ingest.ts. */
  ingest: IngestFigures | null;
  /** Per system: runnel, redis (in memory for acks=1, fsync always for acks=all), nats. */
  systems: Record<string, SystemResults>;
  /** The sweep. */
  sweep: SweepRow[];
  /** What was skipped or went wrong. */
  notes: string[];
}
