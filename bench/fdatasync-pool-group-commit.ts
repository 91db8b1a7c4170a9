/**
 * acks=all's wait for the disk as the broker's group commit sees it, for several sizes of the runtime's file-system
 * thread pool (issue 15, "Tail latency"). Bun runs every asynchronous fs call (fdatasync included) on a pool of as
 * many threads as the machine has cores unless UV_THREADPOOL_SIZE says otherwise: 2 on the 2-core development
 * VM, so with 4 partitions at most 2 fdatasyncs run at once and a third partition's flush waits for a thread, then
 * for its own journal commit (on ext4 fdatasyncs that run together share one commit; one after another, each waits
 * for its own).
 *
 * Each variant runs in its own long-lived child process (the pool size is read at start): PARTITIONS files in a temp dir on
 * the same disk as the brokers' data (os.tmpdir()); REQUESTS_PER_S produce requests, round robin over the
 * partitions (what the sticky partitioner does with full batches), each a 16 KiB append written synchronously and
 * then a flush with the broker's per-partition group commit (runnel.log.flush.overlapping 1: one fdatasync at a
 * time, a flush asked for meanwhile starts after it and covers everyone who asked; 2: starts at once, counts after
 * the earlier one). Per request it records the wait from its append to its data being durable, and the wait until
 * its answer could leave (answers leave in request order on one connection, as Kafka requires). Answers later than
 * WINDOW_COVER_MS are those that stall a producer with 5 requests in flight (the fourth round's window: ~7.4 ms at
 * ~670 requests/s); their excess over it, summed, is the stall time that sets the end-to-end p99.
 *
 * Variants take turns, `--seconds` each (0.25 s slices meet nearly the same disk), and the bench counts in how many
 * rounds each variant had the lowest excess. Usage:
 *   bun bench/fdatasync-pool-group-commit.ts [--rounds 4] [--seconds 3] [--pools 2,8] [--overlapping 1]
 *
 * `--kinds append,preallocate [--slice-ms 250] [--seconds 20]` instead compares, in this one process (the runtime's
 * default pool), segment files that grow with each append against files kept zero-filled ahead as
 * `log.preallocate=true` does (1 MiB of zeros written and fdatasynced in the background whenever fewer than
 * 256 KiB remain, the broker's constants), alternating every `slice-ms` between the kinds' own 4 files, so that both
 * meet the same seconds of the disk; it prints each kind's totals and in how many cycles each had the lower excess.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PREALLOCATE_CHUNK_BYTES, PREALLOCATE_REFILL_BELOW_BYTES } from "../src/storage/segment.ts";

/** Bytes appended per request (one default batch.size of 100-byte records). */
const WRITE_BYTES = 16_384;
/** Produce requests per second at 100K records/s of 100 B with the client's defaults (fourth round). */
const REQUESTS_PER_S = 670;
/** Partitions of the e2e bench's topic. */
const PARTITIONS = 4;
/** Answer delay a window of 5 requests in flight covers at REQUESTS_PER_S (fourth round). */
const WINDOW_COVER_MS = 7.4;

const ZEROS = new Uint8Array(PREALLOCATE_CHUNK_BYTES);

interface ChildResult {
  durable: number[];
  answered: number[];
  fdatasyncs: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** One partition file with the broker's group commit (src/storage/partition-log.ts `flush`/`startFlush`). */
class GroupCommitFile {
  private size = 0;
  private inFlight: Promise<void> | null = null;
  private inFlightTarget = -1;
  private running = 0;
  private queued: Promise<void> | null = null;
  private zeroedEnd = 0;
  private zeroing = false;
  fdatasyncs = 0;

  constructor(
    private readonly fd: number,
    private readonly overlapping: number,
    private readonly preallocate = false,
  ) {}

  append(data: Uint8Array): void {
    fs.writeSync(this.fd, data, 0, data.length, this.size);
    this.size += data.length;
    if (this.preallocate) this.fillAhead();
  }

  /** Segment.preallocateAhead: zeros written ahead and fdatasynced in the background (not counted as a flush). */
  private fillAhead(): void {
    if (this.zeroing || this.zeroedEnd - this.size >= PREALLOCATE_REFILL_BELOW_BYTES) return;
    const from = Math.max(this.zeroedEnd, this.size);
    fs.writeSync(this.fd, ZEROS, 0, PREALLOCATE_CHUNK_BYTES, from);
    this.zeroing = true;
    fs.fdatasync(this.fd, () => {
      this.zeroing = false;
      this.zeroedEnd = from + PREALLOCATE_CHUNK_BYTES;
    });
  }

  flush(): Promise<void> {
    if (this.queued !== null) return this.queued;
    if (this.inFlight === null) return this.start();
    if (this.size <= this.inFlightTarget) return this.inFlight;
    if (this.running < this.overlapping) return this.start();
    const queued = this.inFlight.then(() => {
      this.queued = null;
      return this.start();
    });
    this.queued = queued;
    return queued;
  }

  private start(): Promise<void> {
    const target = this.size;
    this.inFlightTarget = target;
    this.running++;
    this.fdatasyncs++;
    const own = new Promise<void>((resolve, reject) => fs.fdatasync(this.fd, (e) => (e ? reject(e) : resolve())));
    const earlier = this.inFlight;
    const done = (earlier === null ? own : Promise.all([own, earlier]).then(() => {})).then(() => {
      this.running--;
      if (this.inFlight === done) this.inFlight = null;
    });
    this.inFlight = done;
    return done;
  }
}

/** Runs `seconds` of requests on `files` and resolves with each request's waits (ms). */
async function slice(files: GroupCommitFile[], seconds: number): Promise<ChildResult> {
  const data = new Uint8Array(WRITE_BYTES).fill(7);
  const total = Math.max(1, Math.round(seconds * REQUESTS_PER_S));
  const durable = new Array<number>(total);
  const answered = new Array<number>(total);
  const sentAt = new Array<number>(total);
  const doneAt = new Array<number>(total).fill(-1);
  const before = files.reduce((n, f) => n + f.fdatasyncs, 0);
  let lastAnswer = 0;
  let nextAnswer = 0;
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((allDone) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * REQUESTS_PER_S) / 1000) + 1);
      for (; sent < due; sent++) {
        const i = sent;
        const f = files[i % PARTITIONS];
        sentAt[i] = performance.now();
        f.append(data);
        f.flush().then(() => {
          doneAt[i] = performance.now();
          durable[i] = doneAt[i] - sentAt[i];
          while (nextAnswer < total && doneAt[nextAnswer] >= 0) {
            lastAnswer = Math.max(lastAnswer, doneAt[nextAnswer]);
            answered[nextAnswer] = lastAnswer - sentAt[nextAnswer];
            nextAnswer++;
          }
          if (nextAnswer === total) allDone();
        });
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  return { durable, answered, fdatasyncs: files.reduce((n, f) => n + f.fdatasyncs, 0) - before };
}

/** A child keeps its files and runs one slice per line read from stdin (the slice's seconds), one JSON line back. */
async function child(overlapping: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fdatasync-pool-"));
  const files = Array.from({ length: PARTITIONS }, (_, p) => new GroupCommitFile(fs.openSync(path.join(dir, `p${p}`), "w+"), overlapping));
  try {
    for await (const line of console) {
      if (line.trim() === "") break;
      process.stdout.write(`${JSON.stringify(await slice(files, Number(line)))}\n`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A child process of one variant, asked for slices one at a time. */
class VariantProcess {
  private readonly proc: ReturnType<typeof Bun.spawn>;
  private readonly lines: AsyncIterator<string>;

  constructor(pool: string, overlapping: string) {
    this.proc = Bun.spawn([process.execPath, process.argv[1], "--child", "--overlapping", overlapping], {
      env: { ...process.env, UV_THREADPOOL_SIZE: pool },
      stdin: "pipe",
      stdout: "pipe",
      stderr: "inherit",
    });
    this.lines = readLines(this.proc.stdout as ReadableStream<Uint8Array>);
  }

  async run(seconds: string): Promise<ChildResult> {
    const stdin = this.proc.stdin as import("bun").FileSink;
    stdin.write(`${seconds}\n`);
    stdin.flush();
    const next = await this.lines.next();
    if (next.done) throw new Error("child ended");
    return JSON.parse(next.value) as ChildResult;
  }

  async close(): Promise<void> {
    const stdin = this.proc.stdin as import("bun").FileSink;
    stdin.write("\n");
    stdin.end();
    await this.proc.exited;
  }
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      yield buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
    }
  }
}

function pct(sorted: number[], p: number): string {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))].toFixed(2);
}

function summary(r: ChildResult): string {
  const d = [...r.durable].sort((a, b) => a - b);
  const a = [...r.answered].sort((x, y) => x - y);
  const late = a.filter((x) => x > WINDOW_COVER_MS);
  const excess = late.reduce((s, x) => s + (x - WINDOW_COVER_MS), 0);
  return `durable p50/p90/p99/max ${pct(d, 50)} / ${pct(d, 90)} / ${pct(d, 99)} / ${d[d.length - 1].toFixed(2)} | in-order answer p50/p90/p99/max ${pct(a, 50)} / ${pct(a, 90)} / ${pct(a, 99)} / ${a[a.length - 1].toFixed(2)} | answers > ${WINDOW_COVER_MS} ms: ${late.length} (excess ${excess.toFixed(0)} ms) | fdatasyncs ${r.fdatasyncs}`;
}

/** `--kinds`: append vs preallocate files alternating by slice in this process (see the header). */
async function slices(kinds: string[], seconds: number, sliceMs: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fdatasync-slices-"));
  const sets = kinds.map((kind) => {
    if (kind !== "append" && kind !== "preallocate") throw new Error(`unknown kind ${kind}`);
    return Array.from({ length: PARTITIONS }, (_, p) => new GroupCommitFile(fs.openSync(path.join(dir, `${kind}-${p}`), "w+"), 1, kind === "preallocate"));
  });
  const data = new Uint8Array(WRITE_BYTES).fill(7);
  const total = Math.round(seconds * REQUESTS_PER_S);
  const perKind = kinds.map(() => ({ sentAt: [] as number[], doneAt: [] as number[], cycle: [] as number[], answered: [] as number[], durable: [] as number[] }));
  const load0 = fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  const start = performance.now();
  let sent = 0;
  let pending = 0;
  await new Promise<void>((allDone) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * REQUESTS_PER_S) / 1000) + 1);
      for (; sent < due; sent++) {
        const slice = Math.floor((sent * 1000) / REQUESTS_PER_S / sliceMs);
        // A B, B A, A B, ...: no kind always follows the other's slice (and its drain).
        const k = (slice + Math.floor(slice / kinds.length)) % kinds.length;
        const r = perKind[k];
        const i = r.sentAt.length;
        const f = sets[k][i % PARTITIONS];
        r.sentAt.push(performance.now());
        r.doneAt.push(-1);
        r.cycle.push(Math.floor(slice / kinds.length));
        f.append(data);
        pending++;
        f.flush().then(() => {
          r.doneAt[i] = performance.now();
          if (--pending === 0 && sent === total) allDone();
        });
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const load1 = fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  fs.rmSync(dir, { recursive: true, force: true });
  const excessByCycle = kinds.map(() => new Map<number, number>());
  perKind.forEach((r, k) => {
    let last = 0;
    for (let i = 0; i < r.sentAt.length; i++) {
      last = Math.max(last, r.doneAt[i]);
      r.durable.push(r.doneAt[i] - r.sentAt[i]);
      const a = last - r.sentAt[i];
      r.answered.push(a);
      excessByCycle[k].set(r.cycle[i], (excessByCycle[k].get(r.cycle[i]) ?? 0) + Math.max(0, a - WINDOW_COVER_MS));
    }
  });
  const cycles = Math.max(...perKind.map((r) => r.cycle[r.cycle.length - 1] ?? 0)) + 1;
  const lowest = kinds.map(() => 0);
  let ties = 0;
  for (let c = 0; c < cycles; c++) {
    const ex = excessByCycle.map((m) => m.get(c) ?? 0);
    const min = Math.min(...ex);
    if (ex.filter((x) => x === min).length > 1) ties++;
    else lowest[ex.indexOf(min)]++;
  }
  console.log(`${seconds} s, ${sliceMs} ms slices, ${cycles} cycles, load ${load0}->${load1}`);
  kinds.forEach((kind, k) => {
    const r = perKind[k];
    const flushes = sets[k].reduce((n, f) => n + f.fdatasyncs, 0);
    console.log(`${kind.padEnd(11)} | ${summary({ durable: r.durable, answered: r.answered, fdatasyncs: flushes })} | cycles with the lower excess: ${lowest[k]}`);
  });
  console.log(`cycles with equal excess (mostly none on either): ${ties}`);
}

if (process.argv.includes("--kinds")) {
  await slices(arg("kinds", "append,preallocate").split(","), Number(arg("seconds", "20")), Number(arg("slice-ms", "250")));
} else if (process.argv.includes("--child")) {
  await child(Number(arg("overlapping", "1")));
} else {
  const rounds = Number(arg("rounds", "4"));
  const seconds = arg("seconds", "3");
  const pools = arg("pools", "2,8").split(",");
  const overlaps = arg("overlapping", "1").split(",");
  const variants = pools.flatMap((pool) => overlaps.map((ov) => ({ key: `pool ${pool}, overlapping ${ov}`, proc: new VariantProcess(pool, ov) })));
  const all = new Map<string, ChildResult>();
  const lowest = new Map<string, number>();
  const excess = (r: ChildResult) => r.answered.reduce((sum, x) => sum + Math.max(0, x - WINDOW_COVER_MS), 0);
  const verbose = Number(seconds) >= 1;
  const load0 = fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  let ties = 0;
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? variants : [...variants].reverse();
    const results = new Map<string, ChildResult>();
    for (const v of order) {
      const r = await v.proc.run(seconds);
      results.set(v.key, r);
      if (verbose) console.log(`round ${round} | ${v.key} | load ${fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0]} | ${summary(r)}`);
      const acc = all.get(v.key) ?? { durable: [], answered: [], fdatasyncs: 0 };
      acc.durable.push(...r.durable);
      acc.answered.push(...r.answered);
      acc.fdatasyncs += r.fdatasyncs;
      all.set(v.key, acc);
    }
    const ex = [...results].map(([key, r]) => [key, excess(r)] as const);
    const min = Math.min(...ex.map(([, x]) => x));
    const best = ex.filter(([, x]) => x === min);
    if (best.length > 1) ties++;
    else lowest.set(best[0][0], (lowest.get(best[0][0]) ?? 0) + 1);
  }
  await Promise.all(variants.map((v) => v.proc.close()));
  console.log(`${rounds} rounds of ${seconds} s per variant, load ${load0}->${fs.readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`);
  for (const [key, r] of all) console.log(`all rounds | ${key} | ${summary(r)} | rounds with the lowest excess: ${lowest.get(key) ?? 0}`);
  console.log(`rounds with equal lowest excess (mostly none beyond the window): ${ties}`);
}
