/**
 * A partition opened with no `replication-offset-checkpoint` entry: a single node starts its high watermark at the
 * log end (every record it holds was acknowledged at append), a replica (replica set above one, or cluster mode)
 * at the log start, since its tail may never have been committed; it then learns the high watermark from the ISR.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManualClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { PartitionLog } from "../../src/storage/partition-log.ts";
import { Partition, type PartitionDeps, type PartitionRoles } from "../../src/partition/partition.ts";
import { recordingLogger } from "../storage/batch-fixture.ts";

await initCrc32c();

const ME = 1;
const enc = new TextEncoder();
const roots: string[] = [];
test.after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

function batch(n: number): Uint8Array {
  const bb = new BatchBuilder(1 << 16);
  bb.reset({});
  for (let i = 0; i < n; i++) bb.append(1_700_000_000_000 + i, null, enc.encode(`v${i}`));
  return bb.finish().slice();
}

/** Opens partition t-0 in `dir` with no checkpointed high watermark. */
function openIn(dir: string, roles: PartitionRoles, deps: Partial<PartitionDeps> = {}): Partition {
  const clock = new ManualClock();
  const logger = recordingLogger();
  const log = PartitionLog.open(dir, { topic: "t", partition: 0 }, logConfigWith({}), { fs: nodeFileSystem, clock, logger });
  return Partition.open({ name: "t" }, 0, log, { fs: nodeFileSystem, clock, logger, localBrokerId: ME, ...deps }, roles, undefined);
}
function tempDir(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-missing-hw-"));
  roots.push(root);
  return `${root}/t-0`;
}
async function close(p: Partition): Promise<void> {
  p.close();
  await p.log.close();
  p.writeStopSnapshot();
}

test("a restarted replica elected leader without a checkpoint entry does not count its uncommitted tail as committed", async () => {
  const dir = tempDir();
  const first = openIn(dir, { leader: ME, leaderEpoch: 0, replicas: [1, 2, 3], isr: [1, 2, 3] });
  first.appendAsLeader(batch(5));
  assert.equal(first.highWatermark, 0n, "no follower has fetched: nothing is committed");
  await close(first);
  const again = openIn(dir, { leader: ME, leaderEpoch: 1, replicas: [1, 2, 3], isr: [1, 2] });
  assert.equal(again.logEndOffset, 5n);
  assert.equal(again.highWatermark, 0n, "the high watermark starts at the log start, not at the log end");
  let committed = false;
  void again.whenCommitted(5n, 1).then(() => (committed = true), () => {});
  await Promise.resolve();
  assert.equal(committed, false);
  await close(again);
});

test("cluster mode starts a one-replica follower's missing high watermark at the log start; a single node at the log end", async () => {
  const dir = tempDir();
  const solo: PartitionRoles = { leader: ME, leaderEpoch: 0, replicas: [ME], isr: [ME] };
  const first = openIn(dir, solo);
  first.appendAsLeader(batch(4));
  assert.equal(first.highWatermark, 4n);
  await close(first);

  const single = openIn(dir, solo);
  assert.equal(single.highWatermark, 4n, "single node: every record in the log was acknowledged at append");
  await close(single);

  const notLeading: PartitionRoles = { leader: 2, leaderEpoch: 1, replicas: [ME], isr: [2] };
  const replica = openIn(dir, notLeading, { replicated: true });
  assert.equal(replica.highWatermark, 0n, "cluster mode: the replica set may change, so the tail is not trusted");
  await close(replica);

  const leading = openIn(dir, { leader: ME, leaderEpoch: 2, replicas: [ME], isr: [ME] }, { replicated: true });
  assert.equal(leading.highWatermark, 4n, "as sole in-sync leader it advances the high watermark over its own log");
  await close(leading);
});
