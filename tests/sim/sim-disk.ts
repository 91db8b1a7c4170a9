/**
 * A simulated disk behind the FileSystem interface, driven by the simulation's seed. Each file keeps two states,
 * as a page cache does: what the program sees (every write) and what is durable (the bytes as of the last
 * completed fdatasync; fdatasyncs that overlap and complete out of order never make it shrink). A crash keeps the durable bytes plus a seeded prefix of the unsynced writes in order, the
 * last of them possibly torn part-way. fdatasync completes after a seeded latency (a scheduling point); reads fail
 * (EIO) or return one flipped bit at seeded rates while faults are armed. Writes and reads are synchronous in the
 * interface, so they take no simulated time.
 *
 * Namespace operations (create, mkdir, rename, remove, removeTree, the rename inside writeFileAtomic[Async]) are
 * durable at once by default. With {@link DiskFaults.unsyncedNamespace} they are modelled as ext4 (data=ordered)
 * commits them, through one ordered journal: each is pending until a directory fsync commits it; `syncDir(dir)`
 * (and `syncDirAsync(dir)` when it completes) commits every pending operation up to and including the last one made
 * before the call that touches `dir` (a journal commit is global and ordered, so earlier operations on other
 * directories commit too); a power cut keeps a seeded prefix of the pending operations, in the order they were made,
 * and drops the rest. Strict where Linux may be lenient: a file's fdatasync never commits its own directory entry
 * (fdatasync may skip metadata), only a directory fsync does. A file's bytes belong to its inode, not its name: a
 * removal that is lost brings the file back with its durable bytes (plus the crash's prefix of unsynced writes); a
 * created name that is lost takes its file with it. `writeFileAtomic` (the synchronous one) fsyncs its directory, as
 * the real one does. Directory fsyncs are then mutating calls for {@link SimDisk.armPowerCut}. Stricter still, opt-in
 * ({@link DiskFaults.journalPerDirectory}): one journal per directory, so a directory fsync commits only that
 * directory's operations and a power cut keeps a prefix of each directory's alone (files in a directory whose own
 * entry was lost go with it).
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
  /** Namespace operations stay pending until a directory fsync commits them (the model in the file header). */
  unsyncedNamespace?: boolean;
  /**
   * With unsyncedNamespace, one journal per directory instead of one ordered journal (stricter, POSIX's letter): a
   * directory fsync commits only that directory's pending operations, and a power cut keeps a seeded prefix of each
   * directory's independently (an operation on two directories, a rename between them, counts in the first).
   */
  journalPerDirectory?: boolean;
  /** PLANTED BUG: the synchronous writeFileAtomic skips its directory fsync (only with unsyncedNamespace). */
  atomicWriteSkipsDirSync?: boolean;
}

/** Paths to files (inodes) and the set of directories: the current or the durable namespace. */
interface Namespace {
  files: Map<string, SimFile>;
  dirs: Set<string>;
}

/** A namespace operation not yet committed by a directory fsync. */
interface PendingNameOp {
  /** Order made (a journal position). */
  seq: number;
  /** Directories whose entries it changes. */
  dirs: readonly string[];
  /** What it did, for the trace. */
  what: string;
  /** Replays it on the durable namespace. */
  apply(ns: Namespace): void;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function nsRename(ns: Namespace, from: string, to: string): void {
  const f = ns.files.get(from);
  if (f !== undefined) {
    ns.files.set(to, f);
    ns.files.delete(from);
    return;
  }
  for (const p of [...ns.files.keys()]) if (p.startsWith(`${from}/`)) {
    ns.files.set(to + p.slice(from.length), ns.files.get(p)!);
    ns.files.delete(p);
  }
  for (const d of [...ns.dirs]) if (d === from || d.startsWith(`${from}/`)) {
    ns.dirs.delete(d);
    ns.dirs.add(to + d.slice(from.length));
  }
}

function nsRemoveTree(ns: Namespace, path: string): void {
  for (const p of [...ns.files.keys()]) if (p === path || p.startsWith(`${path}/`)) ns.files.delete(p);
  for (const d of [...ns.dirs]) if (d === path || d.startsWith(`${path}/`)) ns.dirs.delete(d);
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
  private files = new Map<string, SimFile>();
  private dirs = new Set<string>(["/"]);
  /** The namespace as of the last journal commit (only with {@link DiskFaults.unsyncedNamespace}). */
  private durableNs: Namespace = { files: new Map(), dirs: new Set(["/"]) };
  /** Namespace operations not yet committed, in the order made. */
  private pendingNames: PendingNameOp[] = [];
  private nameSeq = 0;
  private generation = 0;
  private readonly pendingSyncs = new Set<(e: Error) => void>();
  /** Whether read faults are injected now (off while a broker recovers, so faults hit serving, not recovery). */
  readFaultsArmed = false;
  /** Counters for the run report. */
  readonly stats = { syncs: 0, readErrors: 0, bitFlips: 0, tornWrites: 0, lostWrites: 0, lostNameOps: 0 };

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

  /**
   * A failing disk under one directory: every mutating call (write, truncate, fdatasync, atomic write, rename,
   * remove) on a path beginning with it fails with EIO, as on the forgetful disk's `eio` (a log dir whose disk
   * fails, KIP-112); null: none. Counts no call towards an armed power cut.
   */
  failingUnder: string | null = null;

  /** Counts one mutating call towards an armed power cut; at the armed one, cuts the power and fails the call. */
  private mutating(path: string, to?: string): void {
    const failing = this.failingUnder;
    if (failing !== null && (path.startsWith(failing) || to?.startsWith(failing) === true)) throw ioError("write", path);
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
    if (this.faults.unsyncedNamespace === true) return this.crashJournal();
    for (const path of [...this.files.keys()].sort()) {
      this.files.set(path, this.crashFile(this.files.get(path)!));
    }
  }

  /**
   * Power cut with pending namespace operations: a seeded prefix of them commits, the rest are lost; then every
   * file the durable namespace names crashes as in {@link crash}.
   */
  private crashJournal(): void {
    if (this.faults.journalPerDirectory === true) return this.crashPerDirectory();
    const kept = this.pendingNames.length === 0 ? 0 : this.sim.int(this.pendingNames.length + 1);
    for (let i = 0; i < kept; i++) this.pendingNames[i].apply(this.durableNs);
    this.stats.lostNameOps += this.pendingNames.length - kept;
    if (kept < this.pendingNames.length) this.sim.trace(`power cut loses ${this.pendingNames.length - kept} of ${this.pendingNames.length} uncommitted namespace ops: ${this.pendingNames.slice(kept).map((o) => o.what).join(", ")}`);
    this.pendingNames = [];
    this.restartFromDurableNamespace();
  }

  /** {@link crashJournal} with a journal per directory: a seeded prefix of each directory's pending operations. */
  private crashPerDirectory(): void {
    const keep = new Map<string, number>();
    for (const d of [...new Set(this.pendingNames.map((o) => o.dirs[0]))].sort()) {
      keep.set(d, this.sim.int(this.pendingNames.filter((o) => o.dirs[0] === d).length + 1));
    }
    const lost: string[] = [];
    for (const o of this.pendingNames) {
      const left = keep.get(o.dirs[0])!;
      if (left > 0) {
        keep.set(o.dirs[0], left - 1);
        o.apply(this.durableNs);
      } else lost.push(o.what);
    }
    this.stats.lostNameOps += lost.length;
    if (lost.length > 0) this.sim.trace(`power cut loses ${lost.length} of ${this.pendingNames.length} uncommitted namespace ops: ${lost.join(", ")}`);
    this.pendingNames = [];
    // files whose directory entry survived in a directory whose own entry did not are gone with it
    for (const p of [...this.durableNs.files.keys()]) if (!this.durableNs.dirs.has(parentOf(p)) && parentOf(p) !== "/") this.durableNs.files.delete(p);
    this.restartFromDurableNamespace();
  }

  /** After a power cut: the namespace is the durable one, each file crashed once ({@link crashFile}). */
  private restartFromDurableNamespace(): void {
    const crashed = new Map<SimFile, SimFile>();
    const files = new Map<string, SimFile>();
    for (const path of [...this.durableNs.files.keys()].sort()) {
      const f = this.durableNs.files.get(path)!;
      let n = crashed.get(f);
      if (n === undefined) crashed.set(f, (n = this.crashFile(f)));
      files.set(path, n);
    }
    this.files = files;
    this.dirs = new Set(this.durableNs.dirs);
    this.durableNs = { files: new Map(files), dirs: new Set(this.dirs) };
  }

  /** One file after a power cut: its durable bytes plus a seeded prefix of its unsynced writes, the last maybe torn. */
  private crashFile(f: SimFile): SimFile {
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
    return n;
  }

  /** Records a namespace operation just made (pending until a directory fsync commits it, when modelled). */
  private named(what: string, dirs: readonly string[], apply: (ns: Namespace) => void): void {
    if (this.faults.unsyncedNamespace !== true) return;
    this.pendingNames.push({ seq: ++this.nameSeq, dirs, what, apply });
  }

  /** The journal position a directory fsync of `dir` asked for now commits up to (0: nothing). */
  private commitTarget(dir: string): number {
    for (let i = this.pendingNames.length - 1; i >= 0; i--) if (this.pendingNames[i].dirs.includes(dir)) return this.pendingNames[i].seq;
    return 0;
  }

  /** Commits every pending namespace operation up to journal position `seq`. */
  private commitNames(seq: number, dir: string): void {
    if (this.faults.journalPerDirectory === true) {
      const rest: PendingNameOp[] = [];
      for (const o of this.pendingNames) {
        if (o.seq <= seq && o.dirs.includes(dir)) o.apply(this.durableNs);
        else rest.push(o);
      }
      this.pendingNames = rest;
      return;
    }
    let n = 0;
    while (n < this.pendingNames.length && this.pendingNames[n].seq <= seq) this.pendingNames[n++].apply(this.durableNs);
    this.pendingNames.splice(0, n);
  }

  /** Pending namespace operations (for tests of the model), in the order made. */
  pendingNameOps(): string[] {
    return this.pendingNames.map((o) => o.what);
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
      syncDir: (p) => {
        const d = live();
        if (this.faults.unsyncedNamespace === true) d.mutating(p);
        d.syncDir(p);
      },
      syncDirAsync: (p) => live().syncDirAsync(p),
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
      const f: SimFile = { data: new Uint8Array(0), size: 0, durable: new Uint8Array(0), unsynced: [], pushed: 0, synced: 0 };
      this.files.set(path, f);
      this.named(`create ${path}`, [parentOf(path)], (ns) => void ns.files.set(path, f));
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
    const made: string[] = [];
    for (let p = path; p !== "/" && p !== "" && p !== "."; p = p.slice(0, Math.max(p.lastIndexOf("/"), 1))) {
      if (!this.dirs.has(p)) made.unshift(p);
      this.dirs.add(p);
    }
    for (const d of made) this.named(`mkdir ${d}`, [parentOf(d)], (ns) => void ns.dirs.add(d));
  }
  list(path: string): string[] {
    const prefix = path.endsWith("/") ? path : `${path}/`;
    const out = new Set<string>();
    for (const p of [...this.files.keys(), ...this.dirs]) if (p.startsWith(prefix)) out.add(p.slice(prefix.length).split("/")[0]);
    return [...out].sort();
  }
  rename(from: string, to: string): void {
    if (!this.files.has(from) && !this.dirs.has(from)) this.file(from);
    nsRename({ files: this.files, dirs: this.dirs }, from, to);
    this.named(`rename ${from} -> ${to}`, [parentOf(from), parentOf(to)], (ns) => nsRename(ns, from, to));
  }
  remove(path: string): void {
    if (!this.files.delete(path)) return;
    this.named(`remove ${path}`, [parentOf(path)], (ns) => void ns.files.delete(path));
  }
  removeTree(path: string): void {
    nsRemoveTree({ files: this.files, dirs: this.dirs }, path);
    this.named(`removeTree ${path}`, [parentOf(path), path], (ns) => nsRemoveTree(ns, path));
  }
  readFile(path: string): Uint8Array {
    const f = this.file(path);
    return f.data.slice(0, f.size);
  }
  writeFileAtomic(path: string, data: Uint8Array): void {
    const f: SimFile = { data: data.slice(), size: data.length, durable: data.slice(), unsynced: [], pushed: 0, synced: 0 };
    this.files.set(path, f);
    this.named(`atomic write ${path}`, [parentOf(path)], (ns) => void ns.files.set(path, f));
    if (this.faults.atomicWriteSkipsDirSync !== true) this.syncDir(parentOf(path));
  }
  writeFileAtomicAsync(path: string, data: Uint8Array, tag?: string): Promise<void> {
    return writeFileAtomicThroughHandles(this, path, data, tag);
  }
  syncDir(path: string): void {
    if (this.faults.unsyncedNamespace === true) this.commitNames(this.commitTarget(path), path);
  }
  syncDirAsync(path: string): Promise<void> {
    if (this.faults.unsyncedNamespace !== true) return new Promise((resolve) => this.sim.after(1 + this.sim.int(this.faults.maxSyncLatencyMs), "dir fsync", resolve));
    const target = this.commitTarget(path);
    const gen = this.generation;
    return new Promise<void>((resolve, reject) => {
      this.pendingSyncs.add(reject);
      this.sim.after(1 + this.sim.int(this.faults.maxSyncLatencyMs), `dir fsync ${path}`, () => {
        if (!this.pendingSyncs.delete(reject)) return;
        if (gen === this.generation) this.commitNames(target, path);
        resolve();
      });
    });
  }
}
