/**
 * A producer's batch that compaction emptied (or thinned) keeps its sequence range for whoever rebuilds producer
 * state from it: a follower replicating the cleaned log, or a reload that replays it. As Kafka's ProducerAppendInfo,
 * a batch's last sequence is its base sequence plus its lastOffsetDelta (DefaultRecordBatch.lastSequence), not
 * plus its record count, which the cleaner lowers. Runnel took the count: a follower of a compacted leader learned
 * `baseSequence - 1` as the last sequence of an emptied batch, so when it led, the producer's next batch was
 * refused with OUT_OF_ORDER_SEQUENCE_NUMBER and its retry of the emptied batch was not answered as a duplicate.
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

/** A batch of keyed records at `ts`; idempotent (producer 7, epoch 0) when `seq` is given. */
function batch(keys: string[], ts: number, seq?: number): Uint8Array {
  const bb = new BatchBuilder(1 << 16);
  bb.reset(seq === undefined ? {} : { producerId: 7n, producerEpoch: 0, baseSequence: seq });
  for (const [i, k] of keys.entries()) bb.append(ts + i, enc.encode(k), enc.encode(`${k}@${ts}`));
  return bb.finish().slice();
}

/** `base+span n=count seq=baseSequence` of every batch in `chunks`. */
function describe(chunks: readonly Uint8Array[]): string[] {
  const out: string[] = [];
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.length; ) {
      const h = readBatchHeader(chunk, at);
      out.push(`${h.baseOffset}+${h.lastOffsetDelta + 1} n=${h.recordsCount} seq=${h.baseSequence}`);
      at += 12 + h.batchLength;
    }
  }
  return out;
}

for (const [name, producerKeys, supersede, kept] of [
  ["emptied", ["a", "b"], ["a", "b"], "0+2 n=0 seq=0"],
  ["thinned", ["a", "b"], ["a"], "0+2 n=1 seq=0"],
] as const) {
  test(`a follower of a compacted log knows the sequences of the producer's ${name} last batch`, async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-partition-"));
    const clock = new ManualClock();
    const logger = recordingLogger();
    const config = logConfigWith({ cleanupPolicy: ["compact"] });
    const roles = { leader: 1, leaderEpoch: 0, replicas: [1, 2], isr: [1] };
    const log = PartitionLog.open(`${root}/leader/t-0`, { topic: "t", partition: 0 }, config, { fs: nodeFileSystem, clock, logger });
    const p = Partition.open({ name: "t" }, 0, log, { fs: nodeFileSystem, clock, logger, localBrokerId: 1 }, roles);
    const flog = PartitionLog.open(`${root}/follower/t-0`, { topic: "t", partition: 0 }, config, { fs: nodeFileSystem, clock, logger });
    let f = Partition.open({ name: "t" }, 0, flog, { fs: nodeFileSystem, clock, logger, localBrokerId: 2 }, roles);
    try {
      p.appendAsLeader(batch([...producerKeys], TS, 0)); // 0-1: the producer's last batch (sequences 0-1)
      p.appendAsLeader(batch([...supersede], TS + 10)); // not idempotent: supersedes some or all of it
      log.rollActive();
      p.appendAsLeader(batch(["z"], TS + 100)); // the active segment
      const result = await log.compact();
      assert.ok(result !== null && result.recordsRemoved === supersede.length, `one pass over the sealed segment: ${logger.lines.join("\n")}`);
      const read = log.read(0n, 1 << 20, true);
      assert.equal(describe(read.chunks)[0], kept, "the cleaner keeps the producer's last batch with its offsets and base sequence");
      // The leader's own state was never rebuilt: a retry of sequences 0-1 is a duplicate, sequence 2 comes next.
      assert.deepEqual({ ...p.producers.check(7n, 0, 0, 2), timestamp: 0 }, { kind: "duplicate", baseOffset: 0n, timestamp: 0 });
      assert.deepEqual(p.producers.check(7n, 0, 2, 1), { kind: "append" });

      // A follower replicates the cleaned log from its start; Kafka's follower rebuilds the same producer state.
      for (const chunk of read.chunks) f.appendAsFollower(chunk.slice());
      assert.deepEqual({ ...f.producers.check(7n, 0, 0, 2), timestamp: 0 }, { kind: "duplicate", baseOffset: 0n, timestamp: 0 }, "a retry of the cleaned batch is a duplicate");
      assert.deepEqual(f.producers.check(7n, 0, 2, 1), { kind: "append" }, "the producer's next batch is in order");

      // The same from a replay of the cleaned log (a reload without a producer snapshot to start from).
      f.close();
      await flog.close();
      for (const file of fs.readdirSync(`${root}/follower/t-0`)) if (file.endsWith(".snapshot")) fs.rmSync(`${root}/follower/t-0/${file}`);
      const flog2 = PartitionLog.open(`${root}/follower/t-0`, { topic: "t", partition: 0 }, config, { fs: nodeFileSystem, clock, logger });
      f = Partition.open({ name: "t" }, 0, flog2, { fs: nodeFileSystem, clock, logger, localBrokerId: 2 }, roles);
      assert.deepEqual({ ...f.producers.check(7n, 0, 0, 2), timestamp: 0 }, { kind: "duplicate", baseOffset: 0n, timestamp: 0 }, "after a replay: a duplicate");
      assert.deepEqual(f.producers.check(7n, 0, 2, 1), { kind: "append" }, "after a replay: in order");
    } finally {
      p.close();
      await log.close();
      f.close();
      await f.log.close().catch(() => {});
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
}
