/**
 * CreatePartitions (key 37), versions 0-3. v2 flexible. Increase only; a decrease gets INVALID_PARTITIONS. A single
 * node holds every replica itself; in a cluster the controller places the new partitions (rack-aware) or puts them
 * on the brokers the request assigns (each registered, as many as the replication factor).
 */
import type { CreatePartitionsRequest, CreatePartitionsResponse } from "../../protocol/generated/37_create_partitions.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { topicOperationError } from "../topic-operation-error.ts";
import { manualPartitionsPlacement, manualPlacementBrokers } from "../../cluster/replica-assignment.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Builds the CreatePartitions handler. */
export function createPartitionsHandler(b: Broker): ApiHandler<CreatePartitionsRequest, CreatePartitionsResponse> {
  return {
    apiKey: 37,
    minVersion: 0,
    maxVersion: 3,
    async handle(_ctx, req) {
      const results: CreatePartitionsResponse["results"] = [];
      const count = new Map<string, number>();
      for (const t of req.topics) count.set(t.name, (count.get(t.name) ?? 0) + 1);
      const answered = new Set<string>();
      for (const t of req.topics) {
        if (answered.has(t.name)) continue;
        answered.add(t.name);
        // A topic listed twice gets one answer, as Kafka.
        results.push(count.get(t.name)! > 1 ? { name: t.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Duplicate topic name." } : await grow(t));
      }
      return { throttleTimeMs: 0, results };

      async function grow(t: CreatePartitionsRequest["topics"][number]): Promise<CreatePartitionsResponse["results"][number]> {
        const topic = b.topicsByName.get(t.name);
        if (topic === undefined) return { name: t.name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null };
        const added = t.count - topic.partitions.length;
        if (t.assignments !== null && added > 0 && t.assignments.length !== added) {
          return { name: t.name, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: `Attempted to add ${added} additional partition(s), but only ${t.assignments.length} assignment(s) were specified.` };
        }
        try {
          // a single node holds every replica itself (the only registered broker); a cluster's control plane checks the brokers named
          if (!b.isClustered && t.assignments !== null && added > 0) manualPartitionsPlacement(t.assignments.map((a) => a.brokerIds), 1, topic.partitions.length, manualPlacementBrokers([{ nodeId: b.nodeId }]));
          await b.createPartitions(topic, t.count, req.validateOnly, b.isClustered && t.assignments !== null ? t.assignments.map((a) => a.brokerIds) : null);
          return { name: t.name, errorCode: ErrorCode.NONE, errorMessage: null };
        } catch (e) {
          const err = topicOperationError(e);
          if (err.unexpected) b.logger.error(`adding partitions to ${t.name} failed: ${(e as Error)?.stack ?? e}`);
          return { name: t.name, errorCode: err.code, errorMessage: err.message };
        }
      }
    },
  };
}
