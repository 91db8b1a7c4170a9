/**
 * Garbage collections of each bench phase, by JS heap, from a broker log written with `BUN_JSC_logGC=1` and `bun
 * bench/shards.ts --broker-log FILE` (which marks each phase with `=== bench: produce start MODE` ... lines, each on a
 * line of its own).
 *
 * Usage: bun bench/gc-log.ts FILE [--phase produce|fetch]
 *
 * For every run and phase: the collections started in each heap (Eden and Full), how many of them JSC requested
 * because the bytes allocated since the last one passed its allowance ("Requesting GC because ..."; the others come
 * from the collector's timers), the bytes those requests reported (all, and the oversized part: ArrayBuffer memory and
 * other large allocations), the collection cycles' time (wall time, as the log gives it: under CPU contention it
 * includes time the thread waited, and with concurrent marking also time the thread ran on), the pauses' time (`p=`:
 * the thread stopped for the collector) and the heap's mean size as they started; then per GB of the phase. Heaps are
 * named in the order of their first collection in the run's produce phase, with their address (the log does not say
 * which thread a heap is: main thread, shard, codec pool). Several threads write the log at once, so a line can hold
 * parts of two; a request is credited to the next heap that starts a collection, which is the requesting one unless
 * two heaps start at the same moment.
 */
import * as fs from "node:fs";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { phase: { type: "string", default: "produce" } } });
if (positionals.length !== 1) throw new Error("usage: bun bench/gc-log.ts FILE [--phase produce|fetch]");
const PHASE = values.phase;

/** What one heap did in one phase. */
interface HeapCount {
  eden: number;
  full: number;
  requested: number;
  requestedBytes: number;
  requestedOversized: number;
  cycleMs: number;
  /** Of which Full collections' cycles. */
  fullCycleMs: number;
  /** Sum of the pauses (`p=`) of its collections, ms: the time its thread was stopped for them. */
  pauseMs: number;
  /** Sum of the heap's size (JS cells and extra memory, kB) as each collection started. */
  startKb: number;
}

const START = /\[GC<(0x[0-9a-f]+)>: START M (\d+)kb => (Eden|Full)Collection/g;
const REQUEST = /Requesting GC because bytes allocated this cycle: (\d+) exceed bytes allowed: \d+ normal bytes: \d+ oversized bytes: (\d+)/g;
const CYCLE = /\[GC<(0x[0-9a-f]+)>: [^[\]]*?cycle ([0-9.]+)ms END\]/g;
const PAUSE = /\[GC<(0x[0-9a-f]+)>|\bp=([0-9.]+)ms/g;
const MARK = /^=== bench: (produce|fetch) (start|end) ?(.*)$/;

const text = fs.readFileSync(positionals[0], "utf8");
let run = 0;
let inPhase = false;
let heapNames = new Map<string, string>();
let counts = new Map<string, HeapCount>();
let mode = "";
const nameOf = (heap: string) => {
  let n = heapNames.get(heap);
  if (n === undefined) heapNames.set(heap, (n = `heap${heapNames.size}`));
  return n;
};
const countOf = (heap: string) => {
  let c = counts.get(heap);
  if (c === undefined) counts.set(heap, (c = { eden: 0, full: 0, requested: 0, requestedBytes: 0, requestedOversized: 0, cycleMs: 0, fullCycleMs: 0, pauseMs: 0, startKb: 0 }));
  return c;
};
let lastHeap: string | undefined;
/** The kind of each heap's collection under way (its last START). */
const kindOf = new Map<string, string>();
let pendingRequest: [number, number] | undefined;
const rows: string[][] = [];

for (const line of text.split("\n")) {
  const mark = MARK.exec(line);
  if (mark !== null) {
    const [, phase, edge, rest] = mark;
    if (phase === "produce" && edge === "start") {
      run++;
      mode = rest;
      heapNames = new Map();
    }
    if (phase !== PHASE) continue;
    if (edge === "start") {
      inPhase = true;
      counts = new Map();
      pendingRequest = undefined;
    } else {
      inPhase = false;
      const gb = Number(/([0-9.]+) MB/.exec(rest)![1]) / 1000;
      const all: HeapCount = { eden: 0, full: 0, requested: 0, requestedBytes: 0, requestedOversized: 0, cycleMs: 0, fullCycleMs: 0, pauseMs: 0, startKb: 0 };
      const heaps = [...counts.entries()].sort((a, b) => nameOf(a[0]).localeCompare(nameOf(b[0])));
      for (const [heap, c] of heaps) {
        for (const k of Object.keys(all) as (keyof HeapCount)[]) all[k] += c[k];
        rows.push(row(`${run} ${mode}`, `${nameOf(heap)} ${heap}`, gb, c));
      }
      rows.push(row(`${run} ${mode}`, "all", gb, all));
    }
    continue;
  }
  if (!inPhase) continue;
  for (const m of line.matchAll(REQUEST)) pendingRequest = [Number(m[1]), Number(m[2])];
  for (const m of line.matchAll(START)) {
    nameOf(m[1]);
    const c = countOf(m[1]);
    c.startKb += Number(m[2]);
    kindOf.set(m[1], m[3]);
    if (m[3] === "Eden") c.eden++;
    else c.full++;
    if (pendingRequest !== undefined) {
      c.requested++;
      c.requestedBytes += pendingRequest[0];
      c.requestedOversized += pendingRequest[1];
      pendingRequest = undefined;
    }
  }
  for (const m of line.matchAll(CYCLE)) {
    const c = countOf(m[1]);
    c.cycleMs += Number(m[2]);
    if (kindOf.get(m[1]) === "Full") c.fullCycleMs += Number(m[2]);
  }
  // A pause is the last named heap's (a continuation line without a name goes on the one named last before it).
  for (const m of line.matchAll(PAUSE)) {
    if (m[1] !== undefined) lastHeap = m[1];
    else if (lastHeap !== undefined) countOf(lastHeap).pauseMs += Number(m[2]);
  }
}

/** One table row: the heap's counts and its collections, requests and cycle time per GB of the phase. */
function row(runName: string, heap: string, gb: number, c: HeapCount): string[] {
  const n = c.eden + c.full;
  return [
    runName,
    heap,
    (gb * 1000).toFixed(0),
    `${n} (${c.eden}+${c.full})`,
    String(c.requested),
    (c.requestedBytes / 1e6).toFixed(0),
    (c.requestedOversized / 1e6).toFixed(0),
    `${c.cycleMs.toFixed(0)} (${c.fullCycleMs.toFixed(0)})`,
    c.pauseMs.toFixed(0),
    n === 0 ? "-" : (c.startKb / n / 1024).toFixed(0),
    (n / gb).toFixed(0),
    (c.requested / gb).toFixed(0),
    (c.cycleMs / gb).toFixed(0),
    (c.pauseMs / gb).toFixed(0),
  ];
}

const header = ["run", "heap", "MB", "collections (eden+full)", "requested", "req MB", "req oversized MB", "cycle ms (full)", "pause ms", "heap MB at start", "coll/GB", "req/GB", "cycle ms/GB", "pause ms/GB"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const fmt = (r: string[]) => r.map((v, i) => v.padEnd(widths[i])).join("  ");
console.log(`${PHASE} phase, ${positionals[0]}`);
console.log(fmt(header));
console.log(fmt(widths.map((w) => "-".repeat(w))));
for (const r of rows) console.log(fmt(r));
