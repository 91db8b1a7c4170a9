/**
 * Moves partitions to the owner a placement names, at start-up, before any broker serves them: a node that
 * changed its shard count (`runnel.shards`), or went back to one broker, rewrites every partition state whose
 * replica is not the one it should be to `replicas=[owner], isr=[owner], leader=owner` with the next leader epoch
 * (one replica per partition: a single node). The metadata store stays the one source of truth for who owns what.
 */
import type { LocalMetadataStore, PartitionStateRecord } from "./metadata-store.ts";

/** Rewrites, in one durable commit, every partition state not owned by `ownerOf(topic, partition)`; the count moved. */
export async function normalizePlacement(store: LocalMetadataStore, ownerOf: (topic: string, partition: number) => number): Promise<number> {
  const moved: PartitionStateRecord[] = [];
  for (const t of store.topics()) {
    for (let p = 0; p < t.partitions; p++) {
      const s = store.partitionState(t.name, p);
      if (s === undefined) continue;
      const owner = ownerOf(t.name, p);
      const alone = s.replicas.length === 1 && s.isr.length === 1 && (s.addingReplicas ?? []).length === 0 && (s.removingReplicas ?? []).length === 0;
      if (alone && s.replicas[0] === owner && s.isr[0] === owner && s.leader === owner) continue;
      moved.push({ topic: s.topic, partition: s.partition, replicas: [owner], isr: [owner], leader: owner, leaderEpoch: s.leaderEpoch + 1, partitionEpoch: s.partitionEpoch + 1 });
    }
  }
  if (moved.length > 0) await store.rewritePartitionStates(moved);
  return moved.length;
}
