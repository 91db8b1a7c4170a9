/**
 * A/B regression check of the bench report's rows (issue 15: "no regression in any row of the current report").
 * Absolute figures on a shared machine swing up to 2x between runs minutes apart, so one report against another
 * cannot show a regression; this runs two executables alternately in the same minutes and judges each row by the
 * ratio within each round.
 *
 * A is the baseline: `--a PATH`, or the `dist/runnel` of `--baseline COMMIT` (default 30fab97, the commit of the
 * report issue 15 quotes) built in a scratch worktree /tmp/runnel-ab-<commit> (reused when already built). B is the
 * candidate: `--b PATH`, or this tree's `dist/runnel` built with `npm run build`. Rounds run A,B then B,A, and so on
 * (ABBA: drift in the load favours neither). Each side of a round measures every row with the report's own code
 * and flags (bench/suite/runnel-runs.ts, startup.ts), only shorter: one cold start for start-up time and idle RSS;
 * a broker with produce 100 B / 1 KiB at acks=1 and acks=all (`--seconds` each), consume of what the acks=1 runs
 * wrote, end to end at 100,000 records/s acks=all (3 s, 1 s of it warm-up); then bench/ingest.ts for `--seconds`
 * (ingest and fetch MB/s, and the broker's CPU seconds per GB, which swing less with the load than wall rates).
 * Each executable runs its own `runnel bench`, as in the report; where the baseline's lacks a flag of a row (its
 * e2e has no --in-process), both sides use B's load generator for that row and the output says so; `--generator b`
 * does that for every row (to tell a broker regression from a client one).
 *
 * Verdict per row (bench/suite/paired-verdict.ts): the round's ratio q = B/A for rates, A/B for times and memory
 * (q < 1: B worse); regressed when the sign-test interval of the median q lies below 1 and the median below
 * 1 - tolerance; no regression when the interval's lower end is at or above 1 - tolerance; otherwise, and with
 * fewer than 4 rounds, inconclusive. Each row also shows the same-executable swing between neighbouring measurements (the last of a
 * round and the first of the next are the same executable), the A/A noise of this run.
 *
 * Usage: bun bench/regression-ab.ts [--baseline 30fab97 | --a PATH] [--b PATH] [--rounds 6] [--seconds 2.5]
 *   [--tolerance 0.05] [--rows startup,produce,consume,e2e,ingest] [--generator own|b] [--out DIR]
 * Writes regression-ab.md and regression-ab.json to --out (default a new /tmp/runnel-regression-ab-* directory).
 * A round took 110 s at load 8-14 (6 rounds: 11 minutes); quiet, an estimated ~70 s (6 rounds ~7-8 minutes).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { BenchReport } from "../src/bench/bench-report.ts";
import { pairedVerdict, type PairedVerdict } from "./suite/paired-verdict.ts";
import { runBenchMain, runCommand } from "./suite/processes.ts";
import {
  consumeArgs,
  E2E_RATE,
  E2E_WARMUP_SECONDS,
  e2eArgs,
  IDLE_MS,
  produceArgs,
  runIngest,
  runnelBench,
  runnelStartCommand,
  startRunnel,
  treeCommit,
} from "./suite/runnel-runs.ts";
import { measureStartup } from "./suite/startup.ts";
import { CONSUME_SCENARIOS, PRODUCE_SCENARIOS } from "./suite/suite-results.ts";

const { values } = parseArgs({
  options: {
    baseline: { type: "string", default: "30fab97" },
    a: { type: "string" },
    b: { type: "string" },
    rounds: { type: "string", default: "6" },
    seconds: { type: "string", default: "2.5" },
    tolerance: { type: "string", default: "0.05" },
    rows: { type: "string", default: "startup,produce,consume,e2e,ingest" },
    out: { type: "string" },
    generator: { type: "string", default: "own" },
  },
});

const ROOT = path.resolve(import.meta.dirname, "..");
const BUN = path.join(ROOT, "node_modules", ".bin", "bun");
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const TOLERANCE = Number(values.tolerance);
const GROUPS = new Set(values.rows!.split(","));
/** Seconds of the A/B end-to-end run (the report's is 6); the first E2E_WARMUP_SECONDS are left out. */
const E2E_AB_SECONDS = 3;
/** Below this share of E2E_RATE the end-to-end generator fell behind, and its p99 is the backlog's. */
const E2E_RATE_KEPT = 0.95;
const OUT = path.resolve(values.out ?? fs.mkdtempSync(path.join(os.tmpdir(), "runnel-regression-ab-")));

/** Row groups the check knows. */
const KNOWN_GROUPS = ["startup", "produce", "consume", "e2e", "ingest"];

/** One row of the check: a report row (or, marked, a steadier companion of one). */
interface RowDef {
  key: string;
  label: string;
  unit: string;
  higherIsBetter: boolean;
  group: string;
}

const ROWS: RowDef[] = [
  ...PRODUCE_SCENARIOS.map((sc) => ({ key: `produce ${sc.key}`, label: `Produce ${sc.key}`, unit: "rec/s", higherIsBetter: true, group: "produce" })),
  ...CONSUME_SCENARIOS.map((sc) => ({ key: `consume ${sc.key}`, label: `Consume ${sc.key} records`, unit: "rec/s", higherIsBetter: true, group: "consume" })),
  { key: "ingest", label: "Broker ingest, 1 MiB batches of 1 KiB records, acks=1", unit: "MB/s", higherIsBetter: true, group: "ingest" },
  { key: "ingest cpu", label: "(companion) broker CPU per GB ingested", unit: "s/GB", higherIsBetter: false, group: "ingest" },
  { key: "fetch", label: "Broker fetch from page cache, 16 MiB responses", unit: "MB/s", higherIsBetter: true, group: "ingest" },
  { key: "fetch cpu", label: "(companion) broker CPU per GB fetched", unit: "s/GB", higherIsBetter: false, group: "ingest" },
  { key: "e2e p99", label: `End-to-end p99 at ${E2E_RATE.toLocaleString("en-US")} rec/s, 100 B, acks=all`, unit: "ms", higherIsBetter: false, group: "e2e" },
  { key: "startup", label: "Start to ready listener", unit: "ms", higherIsBetter: false, group: "startup" },
  { key: "rss", label: "Idle RSS", unit: "MB", higherIsBetter: false, group: "startup" },
].filter((r) => GROUPS.has(r.group));

const notes: string[] = [];
const started = performance.now();

function step(msg: string): void {
  console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)}s] ${msg}`);
}

function load(): string {
  return os.loadavg()[0].toFixed(1);
}

async function git(args: string[], cwd = ROOT): Promise<string> {
  const r = await runCommand("git", args, { cwd, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

async function npmBuild(dir: string): Promise<string> {
  const r = await runCommand("npm", ["run", "build"], { cwd: dir, timeoutMs: 300_000 });
  const exe = path.join(dir, "dist", "runnel");
  if (r.code !== 0 || !fs.existsSync(exe)) throw new Error(`npm run build in ${dir} failed: ${r.stderr.trim().split("\n").slice(-5).join("\n")}`);
  return exe;
}

/** The baseline commit's dist/runnel, built in /tmp/runnel-ab-<short> with this tree's node_modules. */
async function baselineExecutable(commit: string): Promise<{ exe: string; commit: string }> {
  const full = await git(["rev-parse", "--verify", `${commit}^{commit}`]);
  const short = full.slice(0, 7);
  const dir = path.join(os.tmpdir(), `runnel-ab-${short}`);
  const exe = path.join(dir, "dist", "runnel");
  if (fs.existsSync(exe)) return { exe, commit: short };
  if (!fs.existsSync(dir)) await git(["worktree", "add", "--detach", dir, full]);
  if (!fs.existsSync(path.join(dir, "node_modules"))) fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  step(`building ${short} in ${dir}`);
  return { exe: await npmBuild(dir), commit: short };
}

/** The long options `exe bench <command> --help` lists. */
async function benchOptions(exe: string, command: string): Promise<Set<string>> {
  const r = await runCommand(exe, ["bench", command, "--help"], { timeoutMs: 30_000 });
  return new Set((r.stdout + r.stderr).match(/--[a-z][a-z0-9-]*/g) ?? []);
}

/** One executable under test. */
interface Side {
  name: "A" | "B";
  exe: string;
  commit: string;
}

/** Which executable's `runnel bench` generates each row kind's load for a side. */
type Generators = Record<"produce" | "consume" | "e2e", (side: Side) => string>;

async function chooseGenerators(a: Side, b: Side): Promise<Generators> {
  const probe = { produce: produceArgs(PRODUCE_SCENARIOS[0], 1), consume: consumeArgs(CONSUME_SCENARIOS[0]), e2e: e2eArgs(E2E_AB_SECONDS, E2E_WARMUP_SECONDS) };
  const gens = {} as Generators;
  if (values.generator === "b") {
    notes.push("--generator b: every row uses B's runnel bench against both brokers (the A/B compares brokers only)");
    return { produce: () => b.exe, consume: () => b.exe, e2e: () => b.exe };
  }
  if (values.generator !== "own") throw new Error("--generator own|b");
  for (const kind of ["produce", "consume", "e2e"] as const) {
    const known = await benchOptions(a.exe, kind);
    const missing = probe[kind].filter((x) => x.startsWith("--") && !known.has(x));
    if (missing.length === 0) gens[kind] = (side) => side.exe;
    else {
      gens[kind] = () => b.exe;
      notes.push(`${kind} rows: A's runnel bench lacks ${missing.join(", ")}, so both sides use B's load generator (the A/B compares brokers only)`);
    }
  }
  return gens;
}

/** Runs `f`; a failure is noted and measures NaN (that round's pair is left out). */
async function tryMeasure<T>(what: string, f: () => Promise<T>): Promise<T | null> {
  try {
    return await f();
  } catch (e) {
    notes.push(`${what} failed: ${(e as Error).message.split("\n")[0]}`);
    step(`  ${what} failed: ${(e as Error).message.split("\n")[0]}`);
    return null;
  }
}

/** Every row for one side: a cold start, a broker with the client rows, then bench/ingest.ts. */
async function measureSide(side: Side, gens: Generators, round: number): Promise<Record<string, number>> {
  const v: Record<string, number> = {};
  const tag = `round ${round + 1} ${side.name}`;
  if (GROUPS.has("startup")) {
    const s = await tryMeasure(`${tag} start-up`, () => measureStartup(runnelStartCommand(side.exe), 1, IDLE_MS));
    v.startup = s?.readyMs ?? NaN;
    v.rss = s?.idleRssMB ?? NaN;
  }
  if (GROUPS.has("produce") || GROUPS.has("consume") || GROUPS.has("e2e")) {
    const broker = await tryMeasure(`${tag} broker start`, () => startRunnel(side.exe));
    if (broker) {
      const bench = (kind: keyof Generators, args: string[]) => tryMeasure<BenchReport>(`${tag} ${args[0]} ${args.slice(1).join(" ")}`, () => runnelBench(gens[kind](side), broker.port, args));
      try {
        for (const sc of PRODUCE_SCENARIOS) {
          if (!GROUPS.has("produce") && !CONSUME_SCENARIOS.some((c) => c.from === sc.key)) continue;
          const rep = await bench("produce", produceArgs(sc, SECONDS));
          v[`produce ${sc.key}`] = rep?.produce?.recordsPerSec ?? NaN;
        }
        if (GROUPS.has("consume")) {
          for (const sc of CONSUME_SCENARIOS) v[`consume ${sc.key}`] = (await bench("consume", consumeArgs(sc)))?.consume?.recordsPerSec ?? NaN;
        }
        if (GROUPS.has("e2e")) {
          const rep = await bench("e2e", e2eArgs(E2E_AB_SECONDS, E2E_WARMUP_SECONDS));
          v["e2e p99"] = rep?.e2eLatencyMs?.p99 ?? NaN;
          const rate = rep?.produce?.recordsPerSec ?? 0;
          if (rep && rate < E2E_RATE * E2E_RATE_KEPT) notes.push(`${tag} e2e: the generator sent only ${Math.round(rate).toLocaleString("en-US")} rec/s of ${E2E_RATE.toLocaleString("en-US")} (p99 is backlog)`);
        }
      } finally {
        await broker.stop();
      }
    }
  }
  if (GROUPS.has("ingest")) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-ab-ingest-"));
    try {
      const f = await tryMeasure(`${tag} bench/ingest.ts`, () => runIngest(ROOT, BUN, SECONDS, side.exe, dir));
      v.ingest = f?.ingestMBps ?? NaN;
      v["ingest cpu"] = f?.brokerCpuPerGB?.ingest ?? NaN;
      v.fetch = f?.fetchMBps ?? NaN;
      v["fetch cpu"] = f?.brokerCpuPerGB?.fetch ?? NaN;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return v;
}

/** One round: both sides' figures, the order they ran in and the 1-minute load average before each. */
interface Round {
  order: ("A" | "B")[];
  load: Record<"A" | "B", number>;
  values: Record<"A" | "B", Record<string, number>>;
}

/** A row's figures over the rounds and its verdict. */
interface RowResult extends RowDef {
  a: number[];
  b: number[];
  /** Per round, oriented so that > 1 means B better (NaN where a side failed). */
  ratios: number[];
  /** Same-executable change between neighbouring measurements (|x2/x1 - 1| on the log scale), per round boundary. */
  sameExeSwing: number[];
  result: PairedVerdict | null;
}

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((p, q) => p - q);
  if (s.length === 0) return NaN;
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function judge(rounds: Round[]): RowResult[] {
  return ROWS.map((row) => {
    const a = rounds.map((r) => r.values.A[row.key] ?? NaN);
    const b = rounds.map((r) => r.values.B[row.key] ?? NaN);
    const ratios = a.map((x, i) => (row.higherIsBetter ? b[i] / x : x / b[i]));
    const sameExeSwing: number[] = [];
    for (let i = 0; i + 1 < rounds.length; i++) {
      const who = rounds[i].order[1];
      const x1 = rounds[i].values[who][row.key];
      const x2 = rounds[i + 1].values[who][row.key];
      if (Number.isFinite(x1) && Number.isFinite(x2) && x1 > 0 && x2 > 0) sameExeSwing.push(Math.exp(Math.abs(Math.log(x2 / x1))) - 1);
    }
    const ok = ratios.filter((q) => Number.isFinite(q) && q > 0);
    return { ...row, a, b, ratios, sameExeSwing, result: ok.length > 0 ? pairedVerdict(ok, TOLERANCE) : null };
  });
}

function fmt(x: number, unit: string): string {
  if (!Number.isFinite(x)) return "—";
  if (unit === "rec/s") return Math.round(x).toLocaleString("en-US");
  if (unit === "MB/s") return x.toFixed(0);
  return x.toFixed(x < 10 ? 2 : 1);
}

function spread(xs: number[], unit: string): string {
  const f = xs.filter((x) => Number.isFinite(x));
  return `${fmt(median(f), unit)} (${fmt(Math.min(...f), unit)}–${fmt(Math.max(...f), unit)})`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(0)}%`;
}

function renderMarkdown(a: Side, b: Side, rounds: Round[], rows: RowResult[], command: string, seconds: number): string {
  const loads = rounds.map((r, i) => `${i + 1}: ${r.order.map((s) => `${s} ${r.load[s].toFixed(1)}`).join(", ")}`).join("; ");
  const lines = [
    "# A/B regression check of the bench report's rows",
    "",
    `A (baseline) ${a.commit}: \`${a.exe}\`; B (candidate) ${b.commit}: \`${b.exe}\`. ${os.cpus().length} × ${os.cpus()[0]?.model ?? "?"}; ` +
      `${new Date().toISOString()}, ${rounds.length} rounds (A,B then B,A, alternating) in ${seconds.toFixed(0)} s; produce/ingest runs ${SECONDS} s, e2e ${E2E_AB_SECONDS} s (${E2E_WARMUP_SECONDS} s warm-up).`,
    "",
    `Load average (1 min) before each side: ${loads}.`,
    "",
    `Command: \`${command}\``,
    "",
    `Rule: per round q = B/A for rates, A/B for times and memory (q > 1: B better); interval = sign-test interval of the median q; ` +
      `**regressed** if the interval is below 1 and the median below ${(1 - TOLERANCE).toFixed(2)}; **no regression** if its lower end is >= ${(1 - TOLERANCE).toFixed(2)} ` +
      `(tolerance ${pct(TOLERANCE)}); otherwise, and with fewer than 4 rounds, **inconclusive**. Same-exe swing: change between neighbouring measurements of one executable (A/A noise of this run).`,
    "",
    "| Row | A median (min–max) | B median (min–max) | q per round | median q [interval, coverage] | same-exe swing (median, max) | Verdict |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) => {
      const v = r.result;
      const q = r.ratios.map((x) => (Number.isFinite(x) ? x.toFixed(2) : "—")).join(", ");
      const ci = v ? `${v.median.toFixed(2)} [${v.lo.toFixed(2)}–${v.hi.toFixed(2)}, ${pct(v.coverage)}]` : "—";
      const sw = r.sameExeSwing.length > 0 ? `${pct(median(r.sameExeSwing))}, ${pct(Math.max(...r.sameExeSwing))}` : "—";
      return `| ${r.label} (${r.unit}) | ${spread(r.a, r.unit)} | ${spread(r.b, r.unit)} | ${q} | ${ci} | ${sw} | ${v ? `**${v.verdict}**` : "no data"} |`;
    }),
    "",
    ...(notes.length > 0 ? ["Notes:", "", ...[...new Set(notes)].map((n) => `- ${n}`), ""] : []),
  ];
  return lines.join("\n");
}

async function main(): Promise<void> {
  for (const g of GROUPS) if (!KNOWN_GROUPS.includes(g)) throw new Error(`--rows: unknown group ${g} (known: ${KNOWN_GROUPS.join(", ")})`);
  if (!(ROUNDS >= 1) || !(SECONDS > 0) || !(TOLERANCE >= 0 && TOLERANCE < 1)) throw new Error("--rounds >= 1, --seconds > 0, 0 <= --tolerance < 1");
  fs.mkdirSync(OUT, { recursive: true });
  step(`regression A/B: load ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}; writing to ${OUT}`);
  const base = values.a ? { exe: path.resolve(values.a), commit: "given" } : await baselineExecutable(values.baseline!);
  let bExe = values.b ? path.resolve(values.b) : "";
  if (!values.b) {
    step("building dist/runnel (npm run build)");
    bExe = await npmBuild(ROOT);
  }
  const a: Side = { name: "A", exe: base.exe, commit: base.commit };
  const b: Side = { name: "B", exe: bExe, commit: values.b ? "given" : ((await treeCommit(ROOT)) ?? "?") };
  const gens = await chooseGenerators(a, b);
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const order: Side[] = i % 2 === 0 ? [a, b] : [b, a];
    const round: Round = { order: order.map((s) => s.name), load: { A: NaN, B: NaN }, values: { A: {}, B: {} } };
    for (const side of order) {
      round.load[side.name] = os.loadavg()[0];
      step(`round ${i + 1}/${ROUNDS}: ${side.name} (load ${load()})`);
      round.values[side.name] = await measureSide(side, gens, i);
      step(`  ${Object.entries(round.values[side.name]).map(([k, x]) => `${k} ${fmt(x, ROWS.find((r) => r.key === k)?.unit ?? "")}`).join(", ")}`);
    }
    rounds.push(round);
  }
  const rows = judge(rounds);
  const seconds = (performance.now() - started) / 1000;
  const command = `bun bench/regression-ab.ts ${process.argv.slice(2).join(" ")}`.trim();
  const md = renderMarkdown(a, b, rounds, rows, command, seconds);
  fs.writeFileSync(path.join(OUT, "regression-ab.md"), md);
  fs.writeFileSync(
    path.join(OUT, "regression-ab.json"),
    JSON.stringify({ when: new Date().toISOString(), seconds, command, a, b, settings: { rounds: ROUNDS, seconds: SECONDS, e2eSeconds: E2E_AB_SECONDS, tolerance: TOLERANCE, rows: [...GROUPS] }, rounds, rows, notes: [...new Set(notes)] }, null, 2) + "\n",
  );
  console.log(md);
  step(`wrote ${OUT}/regression-ab.md and regression-ab.json`);
}

await runBenchMain("regression check", main);
