/**
 * Randomized check of the transaction-aware cleaner against a model, over a partition with real files: three
 * transactional producers and plain writes, transactions left open across passes (the pass stops at the last stable
 * offset), passes whose offset map fills mid-segment (a small log.cleaner.dedupe.buffer.size), delete horizons
 * passing, reloads with and without a producer snapshot; every other seed with cleanup.policy=compact,delete and a
 * retention.bytes that deletes old segments. After every pass and reload: what a read_committed reader
 * of the log below the last stable offset gets (aborted transactions filtered by the partition's index) holds every
 * key's latest committed value and nothing else that was never committed; each producer's next batch is in order and a retry of its last batch is a duplicate.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { Partition } from "../../src/partition/partition.ts";
import { recordingLogger } from "./batch-fixture.ts";
import { controlBatch, keyedBatch, readLog } from "./log-cleaner-records.ts";

await initCrc32c();

const TXN = 0x10;
const COMMIT = 1;
const ABORT = 0;
const PIDS = [11n, 12n, 13n];
const KEYS = 8;
const DELETE_RETENTION_MS = 1000;
/** Seeds per run of the file (TXN_CLEANER_RUNS=N for more; 80 passed when this was written). */
const RUNS = Number(process.env.TXN_CLEANER_RUNS ?? 6);
const OPS = 160;

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ModelRecord {
  offset: bigint;
  key: string;
  value: string;
  /** null: plain; else the transaction's status. */
  txn: { status: "open" | "committed" | "aborted" } | null;
}

for (let run = 0; run < RUNS; run++) {
  const seed = 1000 + run;
  // every other seed: cleanup.policy=compact,delete, retention.bytes deleting old segments now and then
  const withDelete = run % 2 === 1;
  test(`transactional cleaning matches the model (seed ${seed}${withDelete ? ", compact,delete" : ""})`, { timeout: 120_000 }, async () => {
    const rand = rng(seed);
    const pick = (n: number) => Math.floor(rand() * n);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-txnrandom-"));
    const clock = new ManualClock(1_700_000_000_000);
    const logger = recordingLogger();
    const config = logConfigWith(withDelete ? { cleanupPolicy: ["compact", "delete"], deleteRetentionMs: DELETE_RETENTION_MS, retentionBytes: 15_000, retentionMs: -1 } : { cleanupPolicy: ["compact"], deleteRetentionMs: DELETE_RETENTION_MS });
    const deps = { fs: nodeFileSystem, clock, logger };
    const open = () => {
      const log = PartitionLog.open(`${root}/t-0`, { topic: "t", partition: 0 }, config, deps);
      const p = Partition.open({ name: "t" }, 0, log, { ...deps, localBrokerId: 1 }, { leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] });
      return { log, p };
    };
    let { log, p } = open();
    const model: ModelRecord[] = [];
    const seqs = new Map<bigint, number>(PIDS.map((pid) => [pid, 0]));
    const current = new Map<bigint, { status: "open" | "committed" | "aborted" }>();
    const trace: string[] = [];
    /** Each producer's last batch: base sequence, record count and base offset. */
    const lastBatch = new Map<bigint, { seq: number; count: number; offset: bigint }>();
    let value = 0;

    const check = (when: string) => {
      const lso = p.lastStableOffset;
      const { batches, records } = readLog(log);
      const aborted = p.abortedTxns.entries();
      const seen = new Map<string, ModelRecord>();
      for (const r of model) seen.set(`${r.offset}`, r);
      const latestLog = new Map<string, string>();
      for (const r of records) {
        if (r.offset >= lso) break;
        const b = batches.find((x) => x.baseOffset <= r.offset && r.offset <= x.lastOffset)!;
        if ((b.attributes & 0x20) !== 0) continue; // control
        if ((b.attributes & TXN) !== 0 && aborted.some((e) => e.producerId === b.producerId && e.firstOffset <= r.offset && r.offset < e.lastOffset)) continue;
        const m = seen.get(`${r.offset}`);
        assert.ok(m !== undefined && m.key === r.key && m.value === r.value, `${when}: offset ${r.offset} ${r.key}=${r.value} is no record written there\n${trace.join("\n")}`);
        assert.ok(m.txn === null || m.txn.status === "committed", `${when}: read_committed returns ${r.offset} ${r.key}=${r.value} of a transaction ${m.txn?.status}\n${trace.join("\n")}`);
        latestLog.set(r.key!, r.value!);
      }
      const latestModel = new Map<string, string>();
      for (const m of model) if (m.offset >= log.logStartOffset && m.offset < lso && (m.txn === null || m.txn.status === "committed")) latestModel.set(m.key, m.value);
      assert.deepEqual(latestLog, latestModel, `${when}: latest committed value per key below the LSO ${lso}\n${trace.join("\n")}`);
      for (const pid of PIDS) {
        // a producer whose batches retention deleted: a replay of what is left (no snapshot) knows at most its
        // markers, as a replay in Kafka would (no sequence to continue from); not checked
        const last = lastBatch.get(pid);
        if (last !== undefined && last.offset < log.logStartOffset) continue;
        const next = p.producers.check(pid, 0, seqs.get(pid)!, 1);
        assert.ok(next.kind === "append", `${when}: producer ${pid}'s next sequence ${seqs.get(pid)}: ${JSON.stringify(next)}\n${trace.join("\n")}`);
        // a retry of its last batch is answered as a duplicate with that batch's offset
        if (last === undefined) continue;
        const retry = p.producers.check(pid, 0, last.seq, last.count);
        assert.ok(retry.kind === "duplicate" && retry.baseOffset === last.offset, `${when}: producer ${pid}'s retry of ${last.seq}+${last.count} at ${last.offset}: ${JSON.stringify(retry, (_k, v) => (typeof v === "bigint" ? String(v) : v))}\n${trace.join("\n")}`);
      }
    };

    try {
      for (let op = 0; op < OPS; op++) {
        const r = rand();
        if (r < 0.03) {
          // a burst of new keys, more than a small map holds: the pass after it stops mid-segment
          for (let i = 0; i < 110; i++) {
            const recs = Array.from({ length: 8 }, () => ({ k: `u${value}`, v: `v${value++}` }));
            const pid = PIDS[pick(PIDS.length)];
            const t = current.get(pid);
            if (t?.status === "open" && rand() < 0.5) {
              const seq = seqs.get(pid)!;
              seqs.set(pid, seq + recs.length);
              const res = p.appendAsLeader(keyedBatch(recs, { attributes: TXN, producer: { id: pid, epoch: 0, seq }, ts: clock.nowMs() }));
              lastBatch.set(pid, { seq, count: recs.length, offset: res.baseOffset });
              recs.forEach((x, j) => model.push({ offset: res.baseOffset + BigInt(j), key: x.k, value: x.v, txn: t }));
            } else {
              const res = p.appendAsLeader(keyedBatch(recs, { ts: clock.nowMs() }));
              recs.forEach((x, j) => model.push({ offset: res.baseOffset + BigInt(j), key: x.k, value: x.v, txn: null }));
            }
          }
          trace.push(`burst to ${log.logEndOffset}`);
        } else if (r < 0.35) {
          const pid = PIDS[pick(PIDS.length)];
          let t = current.get(pid);
          if (t === undefined || t.status !== "open") {
            t = { status: "open" };
            current.set(pid, t);
          }
          const n = 1 + pick(3);
          const recs = Array.from({ length: n }, () => ({ k: `k${pick(KEYS)}`, v: `v${value++}` }));
          const seq = seqs.get(pid)!;
          seqs.set(pid, seq + n);
          const res = p.appendAsLeader(keyedBatch(recs, { attributes: TXN, producer: { id: pid, epoch: 0, seq }, ts: clock.nowMs() }));
          lastBatch.set(pid, { seq, count: n, offset: res.baseOffset });
          recs.forEach((x, i) => model.push({ offset: res.baseOffset + BigInt(i), key: x.k, value: x.v, txn: t }));
          trace.push(`txn ${pid} ${recs.map((x) => `${x.k}=${x.v}`).join(",")} @${res.baseOffset}`);
        } else if (r < 0.5) {
          const pid = PIDS[pick(PIDS.length)];
          const t = current.get(pid);
          if (t === undefined || t.status !== "open") continue;
          const commit = rand() < 0.5;
          t.status = commit ? "committed" : "aborted";
          const res = p.appendAsLeader(controlBatch(commit ? COMMIT : ABORT, pid, clock.nowMs()));
          trace.push(`${commit ? "commit" : "abort"} ${pid} @${res.baseOffset}`);
        } else if (r < 0.65) {
          const n = 1 + pick(3);
          const recs = Array.from({ length: n }, () => ({ k: `k${pick(KEYS)}`, v: `v${value++}` }));
          const res = p.appendAsLeader(keyedBatch(recs, { ts: clock.nowMs() }));
          recs.forEach((x, i) => model.push({ offset: res.baseOffset + BigInt(i), key: x.k, value: x.v, txn: null }));
          trace.push(`plain ${recs.map((x) => `${x.k}=${x.v}`).join(",")} @${res.baseOffset}`);
        } else if (r < 0.78) {
          log.rollActive();
          trace.push("roll");
        } else if (r < 0.9) {
          const small = rand() < 0.4;
          const res = await log.compact(clock.nowMs(), small ? { dedupeBufferBytes: 24_576 } : {});
          trace.push(`compact${small ? " (small map)" : ""}: ${res === null ? "nothing" : `below ${res.cleanedUpTo}${res.abandoned ? ` abandoned ${res.abandoned}` : ""}`}`);
          check(`after pass ${op}`);
        } else if (r < 0.95) {
          clock.advance(DELETE_RETENTION_MS + 1);
          trace.push("clock +horizon");
          if (withDelete) {
            const del = log.enforceRetention(clock.nowMs());
            trace.push(`retention: ${del.deletedSegments} segment(s), log start ${log.logStartOffset}`);
            check(`after retention ${op}`);
          }
        } else {
          const dropSnapshots = rand() < 0.5;
          p.close();
          await log.close();
          p.writeStopSnapshot();
          if (dropSnapshots) for (const f of fs.readdirSync(`${root}/t-0`)) if (f.endsWith(".snapshot")) fs.rmSync(`${root}/t-0/${f}`);
          ({ log, p } = open());
          trace.push(`reopen${dropSnapshots ? " (no snapshot)" : ""}`);
          check(`after reopen ${op}`);
        }
      }
      // every transaction ends; passes after the horizons leave the compacted, committed state
      for (const pid of PIDS) {
        const t = current.get(pid);
        if (t?.status !== "open") continue;
        t.status = "aborted";
        p.appendAsLeader(controlBatch(ABORT, pid, clock.nowMs()));
        trace.push(`abort ${pid}`);
      }
      p.appendAsLeader(keyedBatch([{ k: "end", v: "end" }], { ts: clock.nowMs() }));
      model.push({ offset: log.logEndOffset - 1n, key: "end", value: "end", txn: null });
      for (let i = 0; i < 3; i++) {
        log.rollActive();
        await log.compact();
        clock.advance(DELETE_RETENTION_MS + 1);
        check(`final pass ${i}`);
      }
    } finally {
      p.close();
      await log.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
}
