/**
 * Model-based property test of PartitionLog on a real temp directory with small limits (segments of a few KB,
 * small index interval and index files, a file-handle cache of a few descriptors that keeps evicting): random
 * sequences of appends (plain and gzip batches, timestamps up and down, transactional bits, replicated appends
 * with gaps, also at segment rolls), reads, timestamp lookups, follower truncation, DeleteRecords, retention by size and time on a
 * manual clock, clean reopen and crash reopen, all compared with an in-memory model of the log: which batches
 * exist (their exact bytes), the log start, end and high watermark, and every record's timestamp.
 */
import process from "node:process";
import { test } from "node:test";
import assert from "node:assert/strict";
import { gunzipSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { ManualClock } from "../../src/platform/clock.ts";
import { type FileHandle, type FileSystem, nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { FileHandleCache } from "../../src/storage/file-handle-cache.ts";
import { type LogConfig, logConfigWith } from "../../src/storage/log-config.ts";
import { type LogOpenState, PartitionLog } from "../../src/storage/partition-log.ts";
import { OffsetOutOfRangeError } from "../../src/storage/storage-errors.ts";
import type { StorageDeps } from "../../src/storage/storage-deps.ts";
import { encodeRecords, type FixtureRecord, makeBatch, recordingLogger, tempDir } from "./batch-fixture.ts";

await initCrc32c();

/** One batch as the model knows it: offsets, its bytes as stored, and each record's (offset, timestamp). */
interface ModelBatch {
  base: bigint;
  last: bigint;
  bytes: Uint8Array;
  records: { offset: bigint; timestamp: number }[];
}

/** The in-memory model: batches still stored, oldest first, and the three offsets. */
interface Model {
  batches: ModelBatch[];
  leo: bigint;
  logStart: bigint;
  hw: bigint;
  lastTimestamp: number;
}

const CODEC_GZIP = 1;
const ATTR_TRANSACTIONAL = 0x10;

const batchArb = fc.record({
  records: fc.integer({ min: 1, max: 50 }),
  valueBytes: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 200 })),
  gzip: fc.boolean(),
  transactional: fc.boolean(),
  /** Base timestamp relative to the previous batch's: mostly up, sometimes down. */
  tsStep: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 2000 }) }, { weight: 1, arbitrary: fc.integer({ min: -3000, max: 0 }) }),
  /** Record timestamp deltas after the first: small, up or down. */
  deltas: fc.array(fc.integer({ min: -50, max: 100 }), { maxLength: 50 }),
  keyed: fc.boolean(),
});

const fraction = fc.double({ min: -0.1, max: 1.1, noNaN: true });

const opArb = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant("append" as const), batches: fc.array(batchArb, { minLength: 1, maxLength: 3, size: "max" }), epoch: fc.integer({ min: 0, max: 5 }), replicatedGap: fc.option(fc.integer({ min: 0, max: 3 }), { freq: 3 }), gapBefore: fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("read" as const), at: fraction, maxBytes: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 9000 })), minOne: fc.boolean(), toHw: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("timestamp" as const), at: fc.double({ min: -0.2, max: 1.2, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("maxTimestamp" as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("commit" as const), at: fc.oneof(fc.constant(1), fraction) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncateTo" as const), at: fraction }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncateFully" as const), ahead: fc.integer({ min: -5, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deleteRecords" as const), at: fraction }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("retentionBytes" as const), bytes: fc.integer({ min: 0, max: 20000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("retentionMs" as const), ms: fc.integer({ min: 0, max: 20000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("clock" as const), ms: fc.integer({ min: 0, max: 10000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("sync" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reopen" as const), crash: fc.boolean(), withRecoveryPoint: fc.boolean() }) },
);

type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;
type BatchSpec = typeof batchArb extends fc.Arbitrary<infer T> ? T : never;

/**
 * The real file system through a set of handles that a crash closes at once: the files keep what was written
 * (the page cache survives a process crash), and the crashed log's handles refuse every later use with an I/O error.
 */
function crashableFileSystem(base: FileSystem): { fs: FileSystem; crash(): Promise<void> } {
  const handles = new Set<FileHandle>();
  const pending = new Set<Promise<unknown>>();
  let dead = false;
  const eio = (): never => {
    throw Object.assign(new Error("crashed"), { code: "EIO" });
  };
  const track = <T>(p: Promise<T>): Promise<T> => {
    pending.add(p);
    p.then(() => pending.delete(p), () => pending.delete(p));
    return p;
  };
  const wrap = (h: FileHandle): FileHandle => {
    handles.add(h);
    const w: FileHandle = {
      path: h.path,
      size: () => (dead ? eio() : h.size()),
      read: (buf, pos) => (dead ? eio() : h.read(buf, pos)),
      write: (buf, pos) => (dead ? eio() : h.write(buf, pos)),
      writev: (bufs, pos) => (dead ? eio() : h.writev(bufs, pos)),
      datasync: () => (dead ? Promise.reject(Object.assign(new Error("crashed"), { code: "EIO" })) : track(h.datasync())),
      datasyncNow: () => (dead ? eio() : h.datasyncNow()),
      truncate: (n) => (dead ? eio() : h.truncate(n)),
      appendZeros: h.appendZeros === undefined ? undefined : (n) => (dead ? Promise.resolve() : track(h.appendZeros!(n))),
      close: () => {
        if (handles.delete(h)) h.close();
      },
    };
    return w;
  };
  const live = <A extends unknown[], R>(f: (...a: A) => R) => (...a: A): R => (dead ? eio() : f(...a));
  const fs: FileSystem = {
    ...base,
    open: live((p: string, create: boolean) => wrap(base.open(p, create))),
    openRead: live((p: string) => wrap(base.openRead(p))),
    rename: live(base.rename.bind(base)),
    remove: live(base.remove.bind(base)),
    removeTree: live(base.removeTree.bind(base)),
    writeFileAtomic: live(base.writeFileAtomic.bind(base)),
    writeFileAtomicAsync: (p, d, t) => (dead ? Promise.reject(Object.assign(new Error("crashed"), { code: "EIO" })) : track(base.writeFileAtomicAsync(p, d, t))),
    syncDir: live(base.syncDir.bind(base)),
    syncDirAsync: (p) => (dead ? Promise.reject(Object.assign(new Error("crashed"), { code: "EIO" })) : track(base.syncDirAsync(p))),
  };
  return {
    fs,
    async crash() {
      await Promise.allSettled([...pending]);
      dead = true;
      for (const h of handles) h.close();
      handles.clear();
    },
  };
}

function makeModelBatch(spec: BatchSpec, model: Model): { bytes: Uint8Array; timestamps: number[] } {
  const baseTimestamp = Math.max(0, model.lastTimestamp + spec.tsStep);
  const records: FixtureRecord[] = [];
  const timestamps: number[] = [];
  for (let i = 0; i < spec.records; i++) {
    const delta = i === 0 ? 0 : (spec.deltas[i - 1] ?? i);
    const ts = Math.max(0, baseTimestamp + delta);
    timestamps.push(ts);
    const value = new Uint8Array(spec.valueBytes).fill((i * 7 + spec.records) & 0xff);
    records.push({ timestampDelta: ts - baseTimestamp, key: spec.keyed ? new TextEncoder().encode(`k${i % 5}`) : null, value });
  }
  model.lastTimestamp = baseTimestamp;
  const section = spec.gzip ? new Uint8Array(gzipSync(encodeRecords(records))) : undefined;
  const attributes = (spec.gzip ? CODEC_GZIP : 0) | (spec.transactional ? ATTR_TRANSACTIONAL : 0);
  return { bytes: makeBatch({ records, baseTimestamp, section, attributes }), timestamps };
}

function pick(lo: bigint, hi: bigint, at: number): bigint {
  if (hi < lo) return lo;
  return lo + BigInt(Math.round(Number(hi - lo) * at));
}

/** What a read should return: whole batches from the one holding `offset`, greedy within `maxBytes` (the first always when `minOne`). */
function expectedRead(model: Model, offset: bigint, maxBytes: number, minOne: boolean, bound: bigint): ModelBatch[] {
  const out: ModelBatch[] = [];
  let bytes = 0;
  if (offset >= bound) return out;
  for (const b of model.batches) {
    if (b.last < offset) continue;
    if (b.last >= bound) break;
    if (bytes + b.bytes.length > maxBytes && !(minOne && out.length === 0)) break;
    out.push(b);
    bytes += b.bytes.length;
  }
  return out;
}

function expectedTimestampHit(model: Model, target: number): { offset: bigint; timestamp: number } | null {
  for (const b of model.batches) {
    for (const r of b.records) if (r.offset >= model.logStart && r.timestamp >= target) return r;
  }
  return null;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** Recent reads' chunks (views of maps or copies) and the bytes they held: they must keep them whatever comes later. */
let held: { chunks: Uint8Array[]; bytes: string; what: string }[] = [];

function checkHeldViews(what: string): void {
  for (const v of held) assert.equal(hex(Buffer.concat(v.chunks)), v.bytes, `${what}: the chunks of ${v.what} changed under their holder`);
}

function checkRead(log: PartitionLog, model: Model, offset: bigint, maxBytes: number, minOne: boolean, upper: bigint | undefined, what: string): void {
  if (offset < model.logStart || offset > model.leo) {
    assert.throws(() => log.read(offset, maxBytes, minOne, upper), OffsetOutOfRangeError, `${what}: read at ${offset} outside [${model.logStart}, ${model.leo}]`);
    return;
  }
  const r = log.read(offset, maxBytes, minOne, upper);
  stats.reads++;
  stats.readBatches += r.batches;
  const want = expectedRead(model, offset, maxBytes, minOne, upper === undefined || upper > model.leo ? model.leo : upper);
  const got = r.chunks.length === 0 ? new Uint8Array(0) : Buffer.concat(r.chunks);
  const wantBytes = Buffer.concat(want.map((b) => b.bytes));
  assert.equal(r.batches, want.length, `${what}: read(${offset}, ${maxBytes}, ${minOne}, ${upper}) batches; model bases ${want.map((b) => b.base).join(",")}`);
  assert.equal(got.length, wantBytes.length, `${what}: read(${offset}, ${maxBytes}, ${minOne}, ${upper}) bytes`);
  assert.equal(hex(got), hex(wantBytes), `${what}: read(${offset}, ${maxBytes}, ${minOne}, ${upper}) content`);
  assert.equal(r.bytes, got.length);
  if (r.batches > 0) {
    held.push({ chunks: r.chunks, bytes: hex(got), what: `${what} read(${offset})` });
    if (held.length > 8) held.shift();
  }
  assert.equal(r.firstOffset, want.length > 0 ? want[0].base : offset, `${what}: firstOffset`);
  assert.equal(r.nextOffset, want.length > 0 ? want[want.length - 1].last + 1n : offset, `${what}: nextOffset`);
  assert.equal(r.logStartOffset, model.logStart);
  assert.equal(r.logEndOffset, model.leo);
}

function checkTimestamp(log: PartitionLog, model: Model, target: number, what: string): void {
  const hit = log.offsetForTimestamp(target);
  const want = expectedTimestampHit(model, target);
  if (hit !== null) stats.timestampHits++;
  assert.deepEqual(hit === null ? null : { offset: hit.offset, timestamp: hit.timestamp }, want === null ? null : { offset: want.offset, timestamp: want.timestamp }, `${what}: offsetForTimestamp(${target})`);
}

/** Invariants checked after every step. */
function checkInvariants(log: PartitionLog, model: Model, what: string): void {
  assert.equal(log.logEndOffset, model.leo, `${what}: log end offset`);
  assert.equal(log.logStartOffset, model.logStart, `${what}: log start offset`);
  assert.equal(log.highWatermark, model.hw, `${what}: high watermark`);
  const bases = log.segmentBaseOffsets();
  for (let i = 1; i < bases.length; i++) assert.ok(bases[i - 1] < bases[i], `${what}: segment bases increase: ${bases.join(",")}`);
  assert.ok(bases[0] <= model.logStart, `${what}: first segment ${bases[0]} starts at or below the log start ${model.logStart}`);
  for (const s of bases) {
    assert.ok(s <= model.leo, `${what}: segment base ${s} past the log end ${model.leo}`);
    const cut = model.batches.find((b) => b.base < s && b.last >= s);
    assert.ok(cut === undefined, `${what}: segment base ${s} inside batch ${cut?.base}..${cut?.last}`);
  }
  // Batches below the first segment are gone for good.
  while (model.batches.length > 0 && model.batches[0].base < bases[0]) {
    assert.ok(model.batches[0].last < model.logStart, `${what}: batch ${model.batches[0].base} deleted while at or above the log start ${model.logStart}`);
    model.batches.shift();
  }
  const size = model.batches.reduce((n, b) => n + b.bytes.length, 0);
  assert.equal(log.size, size, `${what}: log size`);
}

/** A full read of the log and timestamp lookups at every record timestamp boundary: after every reopen. */
function checkEverything(log: PartitionLog, model: Model, what: string): void {
  checkRead(log, model, model.logStart, 1 << 30, true, undefined, what);
  for (const b of model.batches) {
    if (b.last < model.logStart) continue;
    checkRead(log, model, b.base < model.logStart ? model.logStart : b.base, 0, true, undefined, `${what} batch ${b.base}`);
    checkRead(log, model, b.last, b.bytes.length, false, undefined, `${what} batch ${b.base}`);
    checkTimestamp(log, model, b.records[0].timestamp, `${what} batch ${b.base}`);
  }
  checkTimestamp(log, model, -1, what);
  checkTimestamp(log, model, Number.MAX_SAFE_INTEGER, what);
}

interface Harness {
  log: PartitionLog;
  crash: () => Promise<void>;
}

/** Coverage counters, printed with RUNNEL_PROP_STATS=1. */
const stats = { runs: 0, steps: 0, maxSegments: 0, evictions: 0, crashes: 0, cleanReopens: 0, retentionDeleted: 0, reads: 0, readBatches: 0, truncations: 0, timestampHits: 0 };

async function runOps(ops: Op[], seedConfig: Partial<LogConfig>, pretouchBytes: number): Promise<void> {
  const { dir: root, cleanup } = tempDir("runnel-log-prop-");
  const dir = `${root}/orders-0`;
  const clock = new ManualClock();
  const cache = new FileHandleCache(nodeFileSystem, 6);
  const logger = recordingLogger();
  const tp = { topic: "orders", partition: 0 };
  const config = logConfigWith({ segmentBytes: 4096, indexIntervalBytes: 256, segmentIndexBytes: 96, retentionMs: -1, retentionBytes: -1, ...seedConfig });
  const open = (state: LogOpenState): Harness => {
    const c = crashableFileSystem(cache.fileSystem);
    const deps: StorageDeps = { fs: c.fs, clock, logger, pretouchBytes, pretouchPauseMs: 0, pretouchMinAppendBytes: 0, decompress: (codec, section) => (codec === CODEC_GZIP ? new Uint8Array(gunzipSync(section)) : section) };
    return { log: PartitionLog.open(dir, tp, config, deps, state), crash: c.crash };
  };
  held = [];
  let h = open({});
  const model: Model = { batches: [], leo: 0n, logStart: 0n, hw: 0n, lastTimestamp: clock.nowMs() - 10_000 };
  try {
    for (let step = 0; step < ops.length; step++) {
      const op = ops[step];
      const what = `step ${step} ${op.kind}`;
      if (process.env.RUNNEL_PROP_TRACE) console.log(stats.runs, what, JSON.stringify(op).slice(0, 100));
      const log = h.log;
      switch (op.kind) {
        case "append": {
          const built = op.batches.map((s) => makeModelBatch(s, model));
          const gap = op.replicatedGap;
          // Replicated appends may leave gaps before and between their batches (a compacted leader's log), also where
          // the append rolls a segment: an unclean restart keeps them (a gap at a roll is not a lost tail).
          let next = model.leo + BigInt(gap === null ? 0 : op.gapBefore);
          const placed: ModelBatch[] = [];
          for (const { bytes, timestamps } of built) {
            const base = next;
            const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
            if (gap !== null) {
              dv.setBigInt64(0, base);
              dv.setInt32(12, op.epoch);
            }
            const last = base + BigInt(timestamps.length - 1);
            placed.push({ base, last, bytes, records: timestamps.map((t, i) => ({ offset: base + BigInt(i), timestamp: t })) });
            next = last + 1n + BigInt(gap ?? 0);
          }
          const all = Buffer.concat(placed.map((b) => b.bytes));
          const r = gap === null ? log.append(all, { leaderEpoch: op.epoch }) : log.appendWithOffsets(all);
          // append() assigned offsets and the epoch in place in `all`: the model keeps those bytes.
          let at = 0;
          for (const b of placed) {
            b.bytes = Uint8Array.from(all.subarray(at, at + b.bytes.length));
            at += b.bytes.length;
            const stored = new DataView(b.bytes.buffer).getBigInt64(0);
            assert.equal(stored, b.base, `${what}: offset assigned`);
          }
          assert.equal(r.baseOffset, placed[0].base, `${what}: base offset`);
          assert.equal(r.lastOffset, placed[placed.length - 1].last, `${what}: last offset`);
          if (gap === null && config.messageTimestampType === "LogAppendTime") {
            // Stamped with the append time: every record of the batch reads as that time.
            assert.equal(r.logAppendTimeMs, clock.nowMs(), `${what}: append time`);
            for (const b of placed) for (const rec of b.records) rec.timestamp = r.logAppendTimeMs;
          }
          model.batches.push(...placed);
          model.leo = placed[placed.length - 1].last + 1n;
          break;
        }
        case "read": {
          const offset = pick(model.logStart, model.leo, op.at);
          checkRead(log, model, offset, op.maxBytes, op.minOne, op.toHw ? model.hw : undefined, what);
          break;
        }
        case "timestamp": {
          const all = model.batches.flatMap((b) => b.records.map((r) => r.timestamp));
          const lo = Math.min(...all, clock.nowMs());
          const hi = Math.max(...all, clock.nowMs());
          checkTimestamp(log, model, Math.round(lo + (hi - lo) * op.at), what);
          break;
        }
        case "maxTimestamp": {
          const hit = log.maxTimestampOffset();
          const live = model.batches.flatMap((b) => b.records).filter((r) => r.offset >= model.logStart);
          if (hit !== null) {
            const rec = live.find((r) => r.offset === hit.offset);
            assert.ok(rec !== undefined, `${what}: max timestamp offset ${hit.offset} is a live record`);
            assert.equal(rec.timestamp, hit.timestamp, `${what}: its timestamp`);
            for (const r of live) assert.ok(r.timestamp <= hit.timestamp, `${what}: ${r.offset} has a later timestamp ${r.timestamp} > ${hit.timestamp}`);
            const first = live.find((r) => r.timestamp === hit.timestamp);
            assert.equal(hit.offset, first!.offset, `${what}: the first record with the max timestamp`);
          } else {
            assert.equal(live.length, 0, `${what}: null though ${live.length} records are live`);
          }
          break;
        }
        case "commit": {
          const hw = op.at === 1 ? model.leo : pick(model.logStart, model.leo, Math.min(1, Math.max(0, op.at)));
          log.highWatermark = hw;
          model.hw = hw;
          break;
        }
        case "truncateTo": {
          const picked = pick(model.logStart, model.leo, op.at);
          const offset = picked < 0n ? 0n : picked; // (negative: a RangeError)
          log.truncateTo(offset);
          stats.truncations++;
          if (offset < model.leo) {
            if (offset < model.logStart) {
              model.batches = [];
              model.leo = model.logStart = model.hw = offset;
            } else {
              model.batches = model.batches.filter((b) => b.last < offset);
              // The log end becomes the end of what remains in the segment that held `offset`: after the last kept
              // batch, or (a gap of a replicated append before the cut) that segment's base offset.
              const keptEnd = model.batches.length > 0 ? model.batches[model.batches.length - 1].last + 1n : model.logStart;
              const leo = log.logEndOffset;
              assert.ok(leo >= keptEnd && leo <= offset, `${what}: truncateTo(${offset}) left the log end at ${leo}, kept batches end at ${keptEnd}`);
              model.leo = leo;
              if (model.logStart > model.leo) model.logStart = model.leo;
              if (model.hw > model.leo) model.hw = model.leo;
            }
          }
          break;
        }
        case "truncateFully": {
          let offset = model.leo + BigInt(op.ahead);
          if (offset < 0n) offset = 0n;
          log.truncateFullyAndStartAt(offset);
          model.batches = [];
          model.leo = model.logStart = model.hw = offset;
          break;
        }
        case "deleteRecords": {
          const offset = pick(model.logStart, model.leo, op.at);
          if (offset > model.hw || offset < 0n) {
            assert.throws(() => log.deleteRecordsBefore(offset), OffsetOutOfRangeError, `${what}: above the high watermark`);
            break;
          }
          const got = log.deleteRecordsBefore(offset);
          if (offset > model.logStart) model.logStart = offset;
          assert.equal(got, model.logStart, `${what}: returned log start`);
          break;
        }
        case "retentionBytes":
        case "retentionMs": {
          const sizeBefore = log.size;
          const startBefore = model.logStart;
          log.updateConfig(logConfigWith(op.kind === "retentionBytes" ? { retentionBytes: op.bytes } : { retentionMs: op.ms }, config));
          const r = log.enforceRetention(clock.nowMs());
          log.updateConfig(config);
          const bases = log.segmentBaseOffsets();
          // Whatever went lay wholly below the high watermark; the new start is the first remaining segment's.
          // (Segments wholly below the log start go whatever their age or the size.)
          const gone = model.batches.filter((b) => b.base < bases[0]);
          const retained = gone.filter((b) => b.last >= startBefore);
          for (const b of gone) assert.ok(b.last < model.hw, `${what}: deleted batch ${b.base}..${b.last} reaches the high watermark ${model.hw}`);
          if (op.kind === "retentionMs") {
            for (const b of retained) {
              for (const rec of b.records) assert.ok(clock.nowMs() - rec.timestamp > op.ms, `${what}: deleted record ${rec.offset} at ${rec.timestamp} is not older than ${op.ms} ms`);
            }
          } else if (retained.length > 0) {
            assert.ok(sizeBefore - r.deletedBytes >= op.bytes, `${what}: deleted below retention.bytes ${op.bytes}: ${sizeBefore} - ${r.deletedBytes}`);
          }
          if (bases[0] > model.logStart) model.logStart = bases[0];
          if (model.hw < model.logStart) model.hw = model.logStart;
          assert.equal(r.logStartOffset, model.logStart, `${what}: reported log start`);
          stats.retentionDeleted += r.deletedSegments;
          assert.equal(r.deletedBytes, gone.reduce((n, b) => n + b.bytes.length, 0), `${what}: deleted bytes`);
          assert.ok(model.logStart >= startBefore);
          break;
        }
        case "clock":
          clock.advance(op.ms);
          break;
        case "sync":
          await log.sync();
          assert.equal(log.recoveryPoint, model.leo, `${what}: recovery point after sync`);
          break;
        case "reopen": {
          const recoveryPoint = log.recoveryPoint;
          const state: LogOpenState = { logStartOffset: model.logStart, highWatermark: model.hw };
          if (op.crash) {
            await h.crash();
            if (op.withRecoveryPoint) state.recoveryPoint = recoveryPoint;
          } else {
            await log.close();
            await h.crash(); // nothing left open; later use of the closed log's handles fails
            state.cleanShutdown = true;
            state.recoveryPoint = model.leo;
          }
          // Views are promised while their log is open: a closed log's maps may be cut by the next one.
          held = [];
          if (op.crash) stats.crashes++;
          else stats.cleanReopens++;
          h = open(state);
          checkInvariants(h.log, model, `${what} (crash ${op.crash})`);
          checkEverything(h.log, model, `${what} (crash ${op.crash})`);
          break;
        }
      }
      checkInvariants(h.log, model, what);
      checkHeldViews(what);
      stats.steps++;
      stats.maxSegments = Math.max(stats.maxSegments, h.log.segmentCount);
      assert.ok(cache.openCount <= cache.maxOpen, `${what}: ${cache.openCount} files open, bound ${cache.maxOpen}`);
    }
    checkEverything(h.log, model, "end");
    stats.runs++;
    stats.evictions += cache.evictions;
  } finally {
    await h.log.close().catch(() => {});
    await h.crash();
    cleanup();
  }
}

/** A failure's replay knobs from the environment: RUNNEL_PROP_SEED and RUNNEL_PROP_PATH, as fast-check prints them. */
function replay(): { seed?: number; path?: string } {
  const seed = process.env.RUNNEL_PROP_SEED;
  return seed === undefined ? {} : { seed: Number(seed), path: process.env.RUNNEL_PROP_PATH };
}

test("PartitionLog agrees with a model of the log through appends, reads, truncation, deletion, retention and reopen", { timeout: 60_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 80, size: "max" }), fc.record({ indexIntervalBytes: fc.constantFrom(1, 256, 4096), segmentBytes: fc.constantFrom(2048, 4096, 16384), preallocate: fc.boolean(), messageTimestampType: fc.constantFrom("CreateTime" as const, "CreateTime" as const, "LogAppendTime" as const), segmentMs: fc.constantFrom(604_800_000, 3_000), flushMessages: fc.constantFrom(Number.MAX_SAFE_INTEGER, 3) }), fc.constantFrom(0, 0, 4096), async (ops, cfg, pretouchBytes) => {
      await runOps(ops, cfg, pretouchBytes);
    }),
    { numRuns: Number(process.env.RUNNEL_PROP_RUNS ?? 60), endOnFailure: !!process.env.RUNNEL_PROP_NOSHRINK, ...replay() },
  );
  if (process.env.RUNNEL_PROP_STATS) console.log(stats);
});
