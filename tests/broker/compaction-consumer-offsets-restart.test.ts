/**
 * `__consumer_offsets` is a compacted topic: many commits for one group fill several 1 MiB segments, the broker's
 * cleaner compacts them down to the latest commit per partition, and a restarted broker (replaying the compacted
 * partition) still answers OffsetFetch with the latest committed offsets and metadata.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { rootCheckpointOffset } from "../support/root-checkpoint.ts";
import { RawClient } from "../support/raw-client.ts";
import { offsetsPartitionFor } from "../../src/group/group-partitioning.ts";

const GROUP = "compacting-group";
const TOPIC = "events";
const COMMITS = 1200;
const OVERRIDES = {
  "log.cleaner.backoff.ms": "100",
  "log.cleaner.min.cleanable.ratio": "0.01",
  "offsets.topic.segment.bytes": "1048576",
};

function partitionDir(b: TestBroker, partition: number): string {
  return path.join(b.dir, `__consumer_offsets-${partition}`);
}

function logFiles(b: TestBroker, partition: number): { base: bigint; size: number }[] {
  const dir = partitionDir(b, partition);
  return fs
    .readdirSync(dir)
    .filter((n) => /^\d{20}\.log$/.test(n))
    .map((n) => ({ base: BigInt(n.slice(0, 20)), size: fs.statSync(path.join(dir, n)).size }))
    .sort((x, y) => (x.base < y.base ? -1 : 1));
}

function cleanerCheckpoint(b: TestBroker, partition: number): bigint {
  return rootCheckpointOffset(b.dir, "cleaner-offset-checkpoint", "__consumer_offsets", partition);
}

async function fetchCommitted(c: RawClient): Promise<{ offset: bigint; metadata: string }[]> {
  const r = await c.requestWhileCoordinatorLoads(9, 7, { groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: [0, 1] }], requireStable: false }, (r) => r.errorCode);
  return r.topics[0].partitions.map((p: { committedOffset: bigint; metadata: string }) => ({ offset: p.committedOffset, metadata: p.metadata }));
}

test("many commits for one group are compacted in __consumer_offsets and survive a restart", { timeout: 120_000 }, async () => {
  let b = await startTestBroker(OVERRIDES);
  try {
    await b.broker.createTopic(TOPIC, 2, 1, {}, false);
    const c = await RawClient.connect(b.port);
    const meta = (i: number) => `commit-${i}-${"m".repeat(900)}`;
    try {
      await c.findCoordinator(GROUP, 0);
      for (let i = 0; i < COMMITS; i++) {
        const r = await c.requestWhileCoordinatorLoads(8, 8, {
          groupId: GROUP,
          generationIdOrMemberEpoch: -1,
          memberId: "",
          groupInstanceId: null,
          topics: [{ name: TOPIC, partitions: [0, 1].map((p) => ({ partitionIndex: p, committedOffset: BigInt(i * 10 + p), committedLeaderEpoch: -1, committedMetadata: meta(i) })) }],
        }, (r) => r.topics[0].partitions[0].errorCode);
        assert.deepEqual(r.topics[0].partitions.map((p: { errorCode: number }) => p.errorCode), [0, 0]);
      }
    } finally {
      c.close();
    }
    const partition = offsetsPartitionFor(GROUP, 4);
    // The cleaner runs while the commits go on; once they stop it catches up to the active segment.
    const activeBase = logFiles(b, partition).at(-1)!.base;
    assert.ok(activeBase >= 1000n, `commits of ~1 KB each rolled 1 MiB segments (active segment at ${activeBase})`);
    const deadline = Date.now() + 60_000;
    while (cleanerCheckpoint(b, partition) !== activeBase) {
      if (Date.now() > deadline) throw new Error("the cleaner did not compact __consumer_offsets");
      await new Promise((r) => setTimeout(r, 100));
    }
    const sealed = logFiles(b, partition).filter((s) => s.base < activeBase);
    const sealedBytes = sealed.reduce((n, s) => n + s.size, 0);
    // Uncompacted, the sealed segments would hold `activeBase` commit records of over 900 bytes each.
    assert.ok(sealedBytes < 16 * 1024, `__consumer_offsets-${partition}: ${activeBase} records below the active segment take ${sealedBytes} bytes`);

    const expected = [0, 1].map((p) => ({ offset: BigInt((COMMITS - 1) * 10 + p), metadata: meta(COMMITS - 1) }));
    const c1 = await RawClient.connect(b.port);
    try {
      assert.deepEqual(await fetchCommitted(c1), expected);
    } finally {
      c1.close();
    }

    await b.stop({ keepDir: true });
    const lines: string[] = [];
    b = await startTestBroker(OVERRIDES, b.dir, lines);
    const c2 = await RawClient.connect(b.port);
    try {
      assert.deepEqual(await fetchCommitted(c2), expected);
    } finally {
      c2.close();
    }
    // Answered, so loaded: the line of the coordinator that loaded the group is there (on a sharded node, its shard's).
    const loadedGroup = /group coordinator loaded (?:\S+: )?[1-9]\d* group\(s\) from (\d+) record/;
    const loaded = lines.find((l) => loadedGroup.test(l));
    assert.ok(loaded, lines.join("\n"));
    const replayed = Number(loadedGroup.exec(loaded)![1]);
    assert.ok(replayed < COMMITS, `the restart replays ${replayed} records, fewer than the ${COMMITS * 2} written`);
  } finally {
    await b.stop();
  }
});
