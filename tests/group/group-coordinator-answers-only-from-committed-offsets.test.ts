/**
 * Cluster mode: a group coordinator that loads a partition of `__consumer_offsets` answers from it only once the log
 * it replayed is committed (on the ISR), as the transaction coordinator does. A broker restarted after a power cut,
 * still named leader until its old registration lease runs out, may hold offset commits no follower has; serving
 * them would hand out offsets the next coordinator does not know (committed offsets going backwards).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { GroupCoordinator } from "../../src/group/group-coordinator.ts";
import type { OffsetsTopicStorage } from "../../src/group/offsets-topic-storage.ts";
import { flush, harness } from "./coordinator-harness.ts";

test("a group coordinator loading a partition whose log tail is not on the ISR answers COORDINATOR_LOAD_IN_PROGRESS until it is", async () => {
  const h = harness();
  const g = "group-tail";
  assert.deepEqual(await h.coord.commitOffsets({ groupId: g, memberId: "", generationId: -1, groupInstanceId: null, retentionTimeMs: -1, offsets: [{ topic: "t", partition: 0, offset: 42n, leaderEpoch: -1, metadata: "" }] }), [0]);
  h.coord.stop();

  const waits: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const storage: OffsetsTopicStorage = {
    partitionCount: () => h.storage.partitionCount(),
    ensureTopic: (n) => h.storage.ensureTopic(n),
    append: (p, b) => h.storage.append(p, b),
    read: (p, offset, max) => h.storage.read(p, offset, max),
    whenLogCommitted: () => new Promise<void>((resolve, reject) => waits.push({ resolve, reject })),
  };
  const c = new GroupCoordinator({ config: h.config, clock: h.clock, storage, randomId: () => "id" });
  c.followLeadership();
  const fetch = () => c.fetchOffsets(g, [{ topic: "t", partitions: [0] }]);
  const turns = async () => {
    for (let i = 0; i < 3; i++) {
      h.clock.advance(0);
      await flush();
    }
  };
  c.loadPartition(c.partitionFor(g));
  await turns();
  assert.equal(fetch().errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, "no answer from a commit no follower has");
  assert.equal(waits.length, 1, "the replay waits for its log to be committed");
  waits.shift()!.reject(new Error("NOT_LEADER_OR_FOLLOWER"));
  await turns();
  h.clock.advance(100);
  await turns();
  assert.equal(fetch().errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, "a refused wait is tried again");
  assert.equal(waits.length, 1);
  waits.shift()!.resolve();
  await turns();
  assert.equal(fetch().topics[0].partitions[0].offset, 42n, "served once committed");
  c.stop();
});
