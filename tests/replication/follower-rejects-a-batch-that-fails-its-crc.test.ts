/**
 * A follower checks the CRC of every batch it copies, as Kafka's does: a bit flipped on the leader's disk read or
 * on the wire is refused with CORRUPT_MESSAGE and nothing is appended, so the fetch is retried instead of the
 * damage being stored and passed on (found by the deterministic simulation in tests/sim).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { Partition } from "../../src/partition/partition.ts";
import { applyLeaderAnswer } from "../../src/replication/follower-fetch.ts";
import { recordingLogger } from "../storage/batch-fixture.ts";

await initCrc32c();

test("a follower refuses a replicated batch whose CRC fails, appends nothing, and takes the intact copy", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-follower-crc-"));
  try {
    const clock = new ManualClock();
    const logger = recordingLogger();
    const open = (id: number, dir: string) =>
      Partition.open({ name: "t" }, 0, PartitionLog.open(`${root}/${dir}`, { topic: "t", partition: 0 }, logConfigWith({}), { fs: nodeFileSystem, clock, logger }), { fs: nodeFileSystem, clock, logger, localBrokerId: id }, { leader: 1, leaderEpoch: 0, replicas: [1, 2], isr: [1, 2] });
    const leader = open(1, "leader");
    const follower = open(2, "follower");
    const bb = new BatchBuilder(1 << 16);
    bb.reset({});
    for (let i = 0; i < 5; i++) bb.append(1_700_000_000_000, null, new TextEncoder().encode(`value-${i}`));
    leader.appendAsLeader(bb.finish().slice());
    const intact = Buffer.concat(leader.log.read(0n, 1 << 20, true).chunks);
    const flipped = Uint8Array.from(intact);
    flipped[flipped.length - 3] ^= 0x10; // inside the last record's value, covered by the CRC

    assert.throws(
      () => applyLeaderAnswer(follower, { errorCode: 0, highWatermark: 0n, records: flipped }),
      (e: unknown) => (e as { code?: number }).code === ErrorCode.CORRUPT_MESSAGE,
    );
    assert.equal(follower.logEndOffset, 0n, "nothing of the damaged batch was appended");
    assert.equal(follower.log.isOffline, false, "a corrupt copy is the leader's or the wire's fault, not this disk's");

    const out = applyLeaderAnswer(follower, { errorCode: 0, highWatermark: 0n, records: intact });
    assert.equal(out.kind, "appended");
    assert.deepEqual(Buffer.concat(follower.log.read(0n, 1 << 20, true).chunks), intact);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
