/**
 * ListPartitionReassignments (key 46), version 0 (flexible): the partitions whose reassignment is under way, with
 * their full replica list and the replicas being added and removed, from the cluster metadata. Null topics lists
 * every topic; unknown topics and partitions are left out, as Kafka does.
 */
import type { ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse } from "../../protocol/generated/46_list_partition_reassignments.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { isReassigning } from "../../cluster/reassignment.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Builds the ListPartitionReassignments handler. */
export function listPartitionReassignmentsHandler(b: Broker): ApiHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse> {
  return {
    apiKey: 46,
    minVersion: 0,
    maxVersion: 0,
    handle(_ctx, req) {
      const md = b.metadataView;
      const wanted = req.topics ?? md.topics().map((t) => ({ name: t.name, partitionIndexes: Array.from({ length: t.partitions }, (_, i) => i) }));
      const topics: ListPartitionReassignmentsResponse["topics"] = [];
      for (const t of wanted) {
        const partitions: ListPartitionReassignmentsResponse["topics"][number]["partitions"] = [];
        for (const i of t.partitionIndexes) {
          const s = md.partitionState(t.name, i);
          if (s === undefined || !isReassigning(s)) continue;
          partitions.push({ partitionIndex: i, replicas: [...s.replicas], addingReplicas: [...(s.addingReplicas ?? [])], removingReplicas: [...(s.removingReplicas ?? [])] });
        }
        if (partitions.length > 0) topics.push({ name: t.name, partitions });
      }
      return Promise.resolve({ throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics });
    },
  };
}
