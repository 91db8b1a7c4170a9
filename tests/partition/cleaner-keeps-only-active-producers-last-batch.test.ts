/**
 * Compaction keeps an emptied batch of an idempotent producer only when it holds that producer's last record in the
 * partition's producer state, as Kafka's LogCleaner (isBatchLastRecordOfProducer over the ProducerStateManager's
 * active producers). Found by tests/oracle/compaction-random-match-kafka: Runnel kept the producer's last batch of
 * the cleaned section as an empty batch although the producer had written later (in the active segment), where
 * Kafka removed it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder, readBatchHeader } from "../../src/protocol/record-batch.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { Partition } from "../../src/partition/partition.ts";
import { recordingLogger } from "../storage/batch-fixture.ts";

await initCrc32c();

const enc = new TextEncoder();
const TS = 1_700_000_000_000;

/** A batch of keyed records at `ts`; idempotent when `pid` is given. */
function batch(keys: string[], ts: number, pid?: { seq: number }): Uint8Array {
  const bb = new BatchBuilder(1 << 16);
  bb.reset(pid === undefined ? {} : { producerId: 7n, producerEpoch: 0, baseSequence: pid.seq });
  for (const [i, k] of keys.entries()) bb.append(ts + i, enc.encode(k), enc.encode(`${k}@${ts}`));
  return bb.finish().slice();
}

test("emptied batches of a producer whose last record lies later (in the active segment) are removed, not kept empty", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-partition-"));
  const clock = new ManualClock();
  const logger = recordingLogger();
  const config = logConfigWith({ cleanupPolicy: ["compact"] });
  const log = PartitionLog.open(`${root}/t-0`, { topic: "t", partition: 0 }, config, { fs: nodeFileSystem, clock, logger });
  const p = Partition.open({ name: "t" }, 0, log, { fs: nodeFileSystem, clock, logger, localBrokerId: 1 }, { leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] });
  try {
    p.appendAsLeader(batch(["a", "b"], TS, { seq: 0 })); // 0-1
    p.appendAsLeader(batch(["a", "b"], TS + 10, { seq: 2 })); // 2-3: the producer's last batch of the cleaned segment
    p.appendAsLeader(batch(["a", "b"], TS + 20)); // 4-5: supersedes both
    log.rollActive();
    p.appendAsLeader(batch(["z"], TS + 100, { seq: 4 })); // 6, active segment: the producer's last record
    const result = await log.compact();
    assert.ok(result !== null && result.cleanedUpTo === 6n, `one pass over the sealed segment: ${logger.lines.join("\n")}`);
    const read = log.read(0n, 1 << 20, true);
    const batches: string[] = [];
    for (const chunk of read.chunks) {
      for (let at = 0; at < chunk.length; ) {
        const h = readBatchHeader(chunk, at);
        batches.push(`${h.baseOffset}+${h.lastOffsetDelta + 1} n=${h.recordsCount} seq=${h.baseSequence}`);
        at += 12 + h.batchLength;
      }
    }
    assert.deepEqual(batches, ["4+2 n=2 seq=-1", "6+1 n=1 seq=4"], "the producer's emptied batches are gone: its last record is at offset 6");
    // Its sequence is still known from the batch at 6.
    assert.deepEqual({ ...p.producers.check(7n, 0, 4, 1), timestamp: 0 }, { kind: "duplicate", baseOffset: 6n, timestamp: 0 });
  } finally {
    p.close();
    await log.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
