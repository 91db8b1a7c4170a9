/**
 * A simulated disk behind the FileSystem interface, driven by the simulation's seed. Each file keeps two states,
 * as a page cache does: what the program sees (every write) and what is durable (the bytes as of the last
 * completed fdatasync; fdatasyncs that overlap and complete out of order never make it shrink). A crash keeps the durable bytes plus a seeded prefix of the unsynced writes in order, the
 * last of them possibly torn part-way. fdatasync completes after a seeded latency (a scheduling point); reads fail
 * (EIO) or return one flipped bit at seeded rates while faults are armed. Namespace operations (create, rename,
 * remove) are durable at once; writes and reads are synchronous in the interface, so they take no simulated time.
 */
import { type FileHandle, type FileSystem, writeFileAtomicThroughHandles } from "../../src/platform/fs.ts";
import type { Sim } from "./scheduler.ts";

/** Seeded fault rates of a {@link SimDisk}. */
export interface DiskFaults {
  /** Probability that one read fails with EIO. */
  readErrorRate: number;
  /** Probability that one read returns one flipped bit. */
  bitFlipRate: number;
  /** Probability that a crash tears the last surviving unsynced write part-way. */
  tornWriteRate: number;
  /** Largest fdatasync latency in simulated ms. */
  maxSyncLatencyMs: number;
  /** PLANTED BUG for the checker's own test: fdatasync reports success without making anything durable. */
  lieAboutSync?: boolean;
  /**
   * PLANTED BUG: a zero append lands where the file ended when it was asked for (a plain positioned write), not
   * where it ends when it runs, so it can land on appends that overtook it.
   */
  zerosAtAskedEnd?: boolean;
}

type Op = { kind: "write"; pos: number; bytes: Uint8Array } | { kind: "truncate"; length: number };

interface SimFile {
  data: Uint8Array;
  size: number;
  durable: Uint8Array;
  unsynced: Op[];
  /** Ops ever written to this file state (the unsynced ones are the last unsynced.length of them). */
  pushed: number;
  /** Ops the durable bytes cover. */
  synced: number;
}

function grow(f: SimFile, need: number): void {
  if (need <= f.data.length) return;
  const n = new Uint8Array(Math.max(need, f.data.length * 2, 4096));
  n.set(f.data.subarray(0, f.size));
  f.data = n;
}

function applyOp(f: SimFile, op: Op): void {
  if (op.kind === "truncate") {
    if (op.length > f.size) grow(f, op.length);
    f.data.fill(0, Math.min(op.length, f.size), Math.max(op.length, f.size));
    f.size = op.length;
    return;
  }
  grow(f, op.pos + op.bytes.length);
  if (op.pos > f.size) f.data.fill(0, f.size, op.pos);
  f.data.set(op.bytes, op.pos);
  if (op.pos + op.bytes.length > f.size) f.size = op.pos + op.bytes.length;
}

function ioError(what: string, path: string): Error {
  return Object.assign(new Error(`EIO: simulated ${what} error, ${path}`), { code: "EIO" });
}

/** The simulated disk of one broker. */
export class SimDisk implements FileSystem {
  private readonly files = new Map<string, SimFile>();
  private readonly dirs = new Set<string>(["/"]);
  private generation = 0;
  private readonly pendingSyncs = new Set<(e: Error) => void>();
  /** Whether read faults are injected now (off while a broker recovers, so faults hit serving, not recovery). */
  readFaultsArmed = false;
  /** Counters for the run report. */
  readonly stats = { syncs: 0, readErrors: 0, bitFlips: 0, tornWrites: 0, lostWrites: 0 };

  constructor(
    private readonly sim: Sim,
    private readonly faults: DiskFaults,
  ) {}

  /** A power cut armed to hit just before the `remaining`-th write, sync, rename or remove from now (see {@link armPowerCut}). */
  private cutAt: { remaining: number; cut: (path: string) => void; counts: (path: string) => boolean; from: string | null } | null = null;

  /**
   * Arms a power cut that hits inside a process's run of disk calls (a clean stop's fsyncs take no simulated time):
   * just before the `ops`-th mutating call from now (write, truncate, fdatasync, atomic write, rename, remove),
   * `cut` runs with the call's path (it cuts the power: {@link SimDisk.crash}) and that call fails. With `counts`,
   * only calls on a path it accepts (a rename's source or target) count. With `from`, the count starts at the first
   * counted call on a path beginning with `from` (it is call 1): a cut aimed at one partition's part of a stop.
   * Null disarms; answers how many calls the cut still had to wait for when it was still armed, else null.
   */
  armPowerCut(ops: number | null, cut: (path: string) => void = () => {}, counts: (path: string) => boolean = () => true, from: string | null = null): number | null {
    const was = this.cutAt?.remaining ?? null;
    this.cutAt = ops === null ? null : { remaining: ops, cut, counts, from };
    return was;
  }

  /** Counts one mutating call towards an armed power cut; at the armed one, cuts the power and fails the call. */
  private mutating(path: string, to?: string): void {
    const c = this.cutAt;
    if (c === null || !(c.counts(path) || (to !== undefined && c.counts(to)))) return;
    if (c.from !== null) {
      if (!path.startsWith(c.from)) return;
      c.from = null;
    }
    if (--c.remaining > 0) return;
    this.cutAt = null;
    c.cut(to === undefined ? path : `${path} -> ${to}`);
    throw ioError("power cut during", path);
  }

  /**
   * Power cut: every file falls back to its durable bytes plus a seeded, in-order prefix of its unsynced writes
   * (the last one possibly torn); fdatasyncs in flight fail.
   */
  crash(): void {
    this.endProcess();
    for (const path of [...this.files.keys()].sort()) {
      const f = this.files.get(path)!;
      const kept = f.unsynced.length === 0 ? 0 : this.sim.int(f.unsynced.length + 1);
      const n: SimFile = { data: f.durable.slice(), size: f.durable.length, durable: f.durable, unsynced: [], pushed: 0, synced: 0 };
      for (let i = 0; i < kept; i++) {
        const op = f.unsynced[i];
        if (i === kept - 1 && op.kind === "write" && op.bytes.length > 1 && this.sim.chance(this.faults.tornWriteRate)) {
          applyOp(n, { kind: "write", pos: op.pos, bytes: op.bytes.subarray(0, 1 + this.sim.int(op.bytes.length - 1)) });
          this.stats.tornWrites++;
        } else applyOp(n, op);
      }
      this.stats.lostWrites += f.unsynced.length - kept;
      n.durable = n.data.slice(0, n.size);
      this.files.set(path, n);
    }
  }

  /**
   * A copy of what a process starting now would see (every file's current bytes and the directories), as a new disk
   * on simulation `sim` with no faults and nothing unsynced: for starting a second broker on this disk's state
   * without touching it (tests/sim/clean-start-check.ts).
   */
  copy(sim: Sim): SimDisk {
    const d = new SimDisk(sim, { readErrorRate: 0, bitFlipRate: 0, tornWriteRate: 0, maxSyncLatencyMs: 1 });
    for (const dir of this.dirs) d.dirs.add(dir);
    for (const [path, f] of this.files) {
      const data = f.data.slice(0, f.size);
      d.files.set(path, { data, size: f.size, durable: data.slice(), unsynced: [], pushed: 0, synced: 0 });
    }
    return d;
  }

  /**
   * The process dies but the machine keeps running (the page cache survives): handles of the old process fail,
   * its fdatasyncs in flight never answer it, and nothing written is lost.
   */
  endProcess(): void {
    this.generation++;
    for (const reject of [...this.pendingSyncs]) reject(ioError("process ended during fdatasync", ""));
    this.pendingSyncs.clear();
  }

  /**
   * The file system one broker process sees: after the next {@link SimDisk.crash} every call through it fails, so
   * timers and promises of a crashed process cannot write into the disk its successor recovers from.
   */
  view(): FileSystem {
    const gen = this.generation;
    const live = (): SimDisk => {
      if (gen !== this.generation) throw ioError("dead process", "");
      return this;
    };
    const view: FileSystem = {
      open: (p, c) => live().open(p, c),
      openRead: (p) => live().openRead(p),
      mmap: () => null,
      exists: (p) => live().exists(p),
      mkdirp: (p) => live().mkdirp(p),
      list: (p) => live().list(p),
      rename: (a, b) => (live().mutating(a, b), this.rename(a, b)),
      remove: (p) => (live().mutating(p), this.remove(p)),
      removeTree: (p) => (live().mutating(p), this.removeTree(p)),
      readFile: (p) => live().readFile(p),
      writeFileAtomic: (p, d) => (live().mutating(p), this.writeFileAtomic(p, d)),
      writeFileAtomicAsync: (p, d, t) => writeFileAtomicThroughHandles(view, p, d, t),
      syncDir: () => void live(),
      syncDirAsync: () => live().syncDirAsync(),
    };
    return view;
  }

  private file(path: string): SimFile {
    const f = this.files.get(path);
    if (f === undefined) throw Object.assign(new Error(`ENOENT: no such file, ${path}`), { code: "ENOENT" });
    return f;
  }

  private handle(path: string): FileHandle {
    const disk = this;
    const gen = this.generation;
    let closed = false;
    const live = (): SimFile => {
      if (closed) throw Object.assign(new Error(`EBADF: closed, ${path}`), { code: "EBADF" });
      if (gen !== disk.generation) throw ioError("stale handle after power cut", path);
      return disk.file(path);
    };
    const write = (buf: Uint8Array, position: number): void => {
      const f = live();
      disk.mutating(path);
      const op: Op = { kind: "write", pos: position, bytes: buf.slice() };
      applyOp(f, op);
      f.unsynced.push(op);
      f.pushed++;
    };
    return {
      path,
      size: () => live().size,
      read(buf, position) {
        const f = live();
        if (disk.readFaultsArmed && disk.sim.chance(disk.faults.readErrorRate)) {
          disk.stats.readErrors++;
          throw ioError("read", path);
        }
        const n = Math.max(0, Math.min(buf.length, f.size - position));
        buf.set(f.data.subarray(position, position + n));
        if (n > 0 && disk.readFaultsArmed && disk.sim.chance(disk.faults.bitFlipRate)) {
          disk.stats.bitFlips++;
          buf[disk.sim.int(n)] ^= 1 << disk.sim.int(8);
        }
        return n;
      },
      write,
      writev(bufs, position) {
        let total = 0;
        for (const b of bufs) {
          write(b, position + total);
          total += b.length;
        }
        return total;
      },
      datasync() {
        const f = live();
        disk.mutating(path);
        const snapshot = f.data.slice(0, f.size);
        const upTo = f.pushed;
        return new Promise<void>((resolve, reject) => {
          disk.pendingSyncs.add(reject);
          disk.sim.after(1 + disk.sim.int(disk.faults.maxSyncLatencyMs), `fdatasync ${path}`, () => {
            if (!disk.pendingSyncs.delete(reject)) return;
            if (gen === disk.generation) disk.persist(f, snapshot, upTo);
            resolve();
          });
        });
      },
      datasyncNow() {
        const f = live();
        disk.mutating(path);
        disk.persist(f, f.data.slice(0, f.size), f.pushed);
      },
      truncate(length) {
        const f = live();
        disk.mutating(path);
        const op: Op = { kind: "truncate", length };
        applyOp(f, op);
        f.unsynced.push(op);
        f.pushed++;
      },
      close() {
        closed = true;
      },
      // As O_APPEND on a descriptor of its own: lands at the end the file has when the write runs (after a seeded
      // delay, a scheduling point), even if this handle was closed meanwhile; nothing after a power cut.
      appendZeros(length) {
        const askedEnd = live().size;
        return new Promise<void>((resolve) => {
          disk.sim.after(disk.sim.int(1 + disk.faults.maxSyncLatencyMs), `append zeros ${path}`, () => {
            const f = disk.files.get(path);
            if (gen === disk.generation && f !== undefined) {
              const op: Op = { kind: "write", pos: disk.faults.zerosAtAskedEnd ? askedEnd : f.size, bytes: new Uint8Array(length) };
              applyOp(f, op);
              f.unsynced.push(op);
              f.pushed++;
            }
            resolve();
          });
        });
      },
    };
  }

  private persist(f: SimFile, snapshot: Uint8Array, upTo: number): void {
    this.stats.syncs++;
    if (this.faults.lieAboutSync) return;
    // Durability only grows: an fdatasync that completes after a later one (they overlap) adds nothing.
    if (upTo <= f.synced) return;
    f.durable = snapshot;
    f.unsynced.splice(0, upTo - f.synced);
    f.synced = upTo;
  }

  open(path: string, create: boolean): FileHandle {
    if (!this.files.has(path)) {
      if (!create) this.file(path);
      this.files.set(path, { data: new Uint8Array(0), size: 0, durable: new Uint8Array(0), unsynced: [], pushed: 0, synced: 0 });
    }
    return this.handle(path);
  }
  openRead(path: string): FileHandle {
    this.file(path);
    return this.handle(path);
  }
  mmap(): Uint8Array | null {
    return null;
  }
  exists(path: string): boolean {
    return this.files.has(path) || this.dirs.has(path);
  }
  mkdirp(path: string): void {
    for (let p = path; p !== "/" && p !== "" && p !== "."; p = p.slice(0, Math.max(p.lastIndexOf("/"), 1))) this.dirs.add(p);
  }
  list(path: string): string[] {
    const prefix = path.endsWith("/") ? path : `${path}/`;
    const out = new Set<string>();
    for (const p of [...this.files.keys(), ...this.dirs]) if (p.startsWith(prefix)) out.add(p.slice(prefix.length).split("/")[0]);
    return [...out].sort();
  }
  rename(from: string, to: string): void {
    if (this.files.has(from)) {
      this.files.set(to, this.files.get(from)!);
      this.files.delete(from);
      return;
    }
    if (!this.dirs.has(from)) this.file(from);
    for (const p of [...this.files.keys()]) if (p.startsWith(`${from}/`)) {
      this.files.set(to + p.slice(from.length), this.files.get(p)!);
      this.files.delete(p);
    }
    for (const d of [...this.dirs]) if (d === from || d.startsWith(`${from}/`)) {
      this.dirs.delete(d);
      this.dirs.add(to + d.slice(from.length));
    }
  }
  remove(path: string): void {
    this.files.delete(path);
  }
  removeTree(path: string): void {
    for (const p of [...this.files.keys()]) if (p === path || p.startsWith(`${path}/`)) this.files.delete(p);
    for (const d of [...this.dirs]) if (d === path || d.startsWith(`${path}/`)) this.dirs.delete(d);
  }
  readFile(path: string): Uint8Array {
    const f = this.file(path);
    return f.data.slice(0, f.size);
  }
  writeFileAtomic(path: string, data: Uint8Array): void {
    this.files.set(path, { data: data.slice(), size: data.length, durable: data.slice(), unsynced: [], pushed: 0, synced: 0 });
  }
  writeFileAtomicAsync(path: string, data: Uint8Array, tag?: string): Promise<void> {
    return writeFileAtomicThroughHandles(this, path, data, tag);
  }
  syncDir(): void {}
  syncDirAsync(): Promise<void> {
    return new Promise((resolve) => this.sim.after(1 + this.sim.int(this.faults.maxSyncLatencyMs), "dir fsync", resolve));
  }
}
