/**
 * ElectLeaders (key 43), versions 0-2: v0 elects preferred leaders only; v1 adds the election type (0 PREFERRED,
 * 1 UNCLEAN) and a top-level error code; v2 is flexible. Null partitions mean every partition, and then the answer
 * leaves out those that need no election, as Kafka's. As Kafka's controller (ReplicationControlManager.electLeaders),
 * the answer has an entry for every topic named (also one naming no partitions), or for every topic of the cluster
 * when none is named (also one whose partitions all needed no election). Each election is written before the answer, so the new
 * leaders are in the metadata when it arrives (`timeoutMs` is not needed to wait). Errors per partition are Kafka's:
 * ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION.
 */
import type { ElectLeadersRequest, ElectLeadersResponse } from "../../protocol/generated/43_elect_leaders.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { ElectionType } from "../../cluster/leader-election.ts";
import type { ElectionResult } from "../../cluster/leader-election.ts";
import type { ApiHandler } from "../api-handler.ts";

/** What the ElectLeaders handler needs of the broker. */
export interface LeaderElections {
  /** Runs elections of `type`; `targets` null: every partition. */
  electLeaders(type: number, targets: readonly { topic: string; partition: number }[] | null): Promise<ElectionResult[]>;
  /** Every topic of the cluster, internal ones included (an election over all partitions answers for each). */
  electionTopicNames(): string[];
}

/** Builds the ElectLeaders handler. */
export function electLeadersHandler(b: LeaderElections): ApiHandler<ElectLeadersRequest, ElectLeadersResponse> {
  return {
    apiKey: 43,
    minVersion: 0,
    maxVersion: 2,
    async handle(_ctx, req) {
      const type = req.electionType ?? ElectionType.PREFERRED;
      if (type !== ElectionType.PREFERRED && type !== ElectionType.UNCLEAN) {
        return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: [] };
      }
      let targets: { topic: string; partition: number }[] | null = null;
      if (req.topicPartitions !== null) {
        const seen = new Set<string>();
        targets = [];
        for (const t of req.topicPartitions) {
          for (const partition of t.partitions) {
            const key = `${t.topic}\u0000${partition}`;
            if (seen.has(key)) continue; // a partition named twice is elected and answered once
            seen.add(key);
            targets.push({ topic: t.topic, partition });
          }
        }
      }
      const results = await b.electLeaders(type, targets);
      const byTopic = new Map<string, ElectLeadersResponse["replicaElectionResults"][number]>();
      for (const topic of req.topicPartitions === null ? b.electionTopicNames() : req.topicPartitions.map((t) => t.topic)) {
        if (!byTopic.has(topic)) byTopic.set(topic, { topic, partitionResult: [] });
      }
      for (const r of results) {
        let t = byTopic.get(r.topic);
        if (t === undefined) byTopic.set(r.topic, (t = { topic: r.topic, partitionResult: [] }));
        t.partitionResult.push({ partitionId: r.partition, errorCode: r.error, errorMessage: r.error === ErrorCode.NONE ? null : r.message });
      }
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults: [...byTopic.values()] };
    },
  };
}
