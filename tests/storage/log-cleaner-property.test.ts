/**
 * Property test of compaction against a model: random keyed appends (values and tombstones, plain and gzip batches)
 * across small segments, compaction passes at random times on a manual clock, clean reopens and unclean ones that
 * recover every segment (also under cleanup.policy=delete: compacted, then switched). After every pass,
 * below the cleaner checkpoint exactly the latest record per key remains (a tombstone until delete.retention.ms after
 * the pass that first cleaned it), every record at or above it is untouched, and every surviving record keeps its
 * offset, key, value and timestamp.
 */
import process from "node:process";
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { openTestLog } from "./log-fixture.ts";
import { initCleanerTestCodecs, keyedBatch, readLog, type ReadRecord, testCompress, testDecompress } from "./log-cleaner-records.ts";

await initCrc32c();
await initCleanerTestCodecs();

const DELETE_RETENTION_MS = 3_000;

const appendArb = fc.record({
  kind: fc.constant("append" as const),
  records: fc.array(fc.record({ key: fc.integer({ min: 0, max: 9 }), tombstone: fc.integer({ min: 0, max: 99 }).map((x) => x < 25), pad: fc.integer({ min: 0, max: 120 }) }), { minLength: 1, maxLength: 8 }),
  gzip: fc.boolean(),
});
const opArb = fc.oneof(
  { weight: 6, arbitrary: appendArb },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("clock" as const), ms: fc.integer({ min: 0, max: 4_000 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("compact" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reopen" as const), crash: fc.boolean(), policy: fc.constantFrom("compact" as const, "delete" as const) }) },
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

interface ModelRecord extends ReadRecord {
  /** Clock time of the first pass that cleaned this tombstone (it then got its delete horizon), or null. */
  firstCleanedAt: number | null;
}

const view = (r: ReadRecord) => `${r.offset}:${r.key}=${r.value}@${r.timestamp}`;

/** Coverage counters, printed with RUNNEL_PROP_STATS=1. */
const stats = { passes: 0, recordsRemoved: 0, tombstonesRemoved: 0, reopens: 0, crashes: 0, maxSegments: 0 };

async function run(ops: Op[], segmentBytes: number): Promise<void> {
  const t = await openTestLog({ cleanupPolicy: ["compact"], segmentBytes, deleteRetentionMs: DELETE_RETENTION_MS }, { decompress: testDecompress });
  t.deps.compress = testCompress;
  try {
    let records: ModelRecord[] = [];
    let n = 0;
    for (let step = 0; step < ops.length; step++) {
      const op = ops[step];
      const what = `step ${step} ${op.kind}`;
      switch (op.kind) {
        case "append": {
          const ts = t.clock.nowMs();
          const kvs = op.records.map((r, i) => ({ k: `k${r.key}`, v: r.tombstone ? null : `v${n + i}-${"x".repeat(r.pad)}`, dt: i }));
          const res = t.log.append(keyedBatch(kvs, { ts, codec: op.gzip ? 1 : undefined }), { leaderEpoch: 0 });
          kvs.forEach((kv, i) => records.push({ offset: res.baseOffset + BigInt(i), key: kv.k, value: kv.v, timestamp: ts + i, firstCleanedAt: null }));
          n += kvs.length;
          t.log.highWatermark = t.log.logEndOffset;
          break;
        }
        case "clock":
          t.clock.advance(op.ms);
          break;
        case "reopen":
          stats.reopens++;
          if (!op.crash) await t.reopen({ state: { cleanShutdown: true, cleanerCheckpoint: t.log.cleanerCheckpoint, recoveryPoint: t.log.logEndOffset } });
          else {
            // An unclean restart recovering every segment, under cleanup.policy=delete too (compact, then delete):
            // a cleaned segment still ends where the next begins, so recovery takes no gap for a lost tail.
            stats.crashes++;
            await t.reopen({ crash: true, state: { cleanerCheckpoint: t.log.cleanerCheckpoint }, config: logConfigWith({ cleanupPolicy: [op.policy] }, t.config) });
          }
          break;
        case "compact": {
          const now = t.clock.nowMs();
          const result = await t.log.compact(now);
          if (result === null) break;
          assert.equal(result.abandoned, null, `${what}: abandoned`);
          stats.passes++;
          stats.recordsRemoved += result.recordsRemoved;
          const cut = t.log.cleanerCheckpoint;
          assert.equal(cut, result.cleanedUpTo);
          const latest = new Map<string, bigint>();
          for (const r of records) if (r.offset < cut) latest.set(r.key!, r.offset);
          records = records.filter((r) => {
            if (r.offset >= cut) return true;
            if (latest.get(r.key!) !== r.offset) return false;
            if (r.value !== null) return true;
            // A tombstone gets its horizon in the first pass that cleans it and goes in a pass after the horizon.
            if (r.firstCleanedAt === null) {
              r.firstCleanedAt = now;
              return true;
            }
            if (now < r.firstCleanedAt + DELETE_RETENTION_MS) return true;
            stats.tombstonesRemoved++;
            return false;
          });
          break;
        }
      }
      stats.maxSegments = Math.max(stats.maxSegments, t.log.segmentCount);
      const got = readLog(t.log).records.map(view);
      assert.deepEqual(got, records.map(view), what);
    }
  } finally {
    await t.cleanup();
  }
}

test("compaction keeps exactly the latest record per key below the cleaner checkpoint, tombstones until delete.retention.ms, offsets and timestamps", { timeout: 60_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60, size: "max" }), fc.constantFrom(300, 700, 1500), async (ops, segmentBytes) => {
      await run(ops, segmentBytes);
    }),
    { numRuns: 40 },
  );
  if (process.env.RUNNEL_PROP_STATS) console.log(stats);
});
