/**
 * FindCoordinator (key 10), versions 0-6. v1 key type (0 group, 1 transaction, 2 share); v3 flexible; v4 batched
 * coordinator keys; v5 and v6 add error codes only. A group key creates `__consumer_offsets` on first use (as Kafka
 * does) and answers with the leader of the group's partition of it; a transactional id likewise creates
 * `__transaction_state` and answers with the leader of the id's partition of it (this broker on a single node). With
 * no leader there is COORDINATOR_NOT_AVAILABLE, and the client asks again. Share groups are not supported.
 */
import type {
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  FindCoordinatorResponseCoordinator,
} from "../../protocol/generated/10_find_coordinator.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";
import { OFFSETS_TOPIC } from "../../group/offsets-topic-storage.ts";
import { offsetsPartitionFor } from "../../group/group-partitioning.ts";
import { TRANSACTION_STATE_TOPIC } from "../../transactions/transaction-log.ts";
import { transactionPartitionFor } from "../../transactions/transaction-coordinator.ts";

/** FindCoordinator key types. */
export const CoordinatorKeyType = { GROUP: 0, TRANSACTION: 1, SHARE: 2 } as const;

/** Most keys one batched request may carry. */
const MAX_COORDINATOR_KEYS = 10_000;

/**
 * The broker leading the partition of internal topic `topic` that `partitionOf` picks for a key, at its
 * `listenerName` endpoint; undefined while the topic is missing or the partition has no registered leader.
 */
function leaderOf(b: Broker, topic: string, partitionOf: (partitions: number) => number, listenerName: string | undefined): { nodeId: number; host: string; port: number } | undefined {
  const partitions = b.topicsByName.get(topic)?.partitions ?? [];
  if (partitions.length === 0) return undefined;
  const leader = partitions[partitionOf(partitions.length)].leader;
  return b.clusterBroker(leader, listenerName);
}

/** Builds the FindCoordinator handler. */
export function findCoordinatorHandler(b: Broker): ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse> {
  const find = async (key: string, keyType: number, listenerName: string | undefined): Promise<FindCoordinatorResponseCoordinator> => {
    const fail = (errorCode: number, errorMessage: string) => ({ key, nodeId: -1, host: "", port: -1, errorCode, errorMessage });
    const answer = (leader: { nodeId: number; host: string; port: number } | undefined): FindCoordinatorResponseCoordinator =>
      leader === undefined ? fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, "The coordinator is not available.") : { key, nodeId: leader.nodeId, host: leader.host, port: leader.port, errorCode: ErrorCode.NONE, errorMessage: null };
    /** The leader of `topic`'s partition for the key, once the topic exists (created on first use, as Kafka does). */
    const leaderFor = async (topic: string, ensure: () => number, partitionOf: (partitions: number) => number): Promise<FindCoordinatorResponseCoordinator> => {
      try {
        await b.ensureInternalTopic(topic, ensure);
      } catch (e) {
        b.logger.warn(`cannot create ${topic}: ${(e as Error).message}`);
        return answer(undefined);
      }
      return answer(leaderOf(b, topic, partitionOf, listenerName));
    };
    switch (keyType) {
      case CoordinatorKeyType.GROUP:
        return leaderFor(OFFSETS_TOPIC, () => b.groups.ensureOffsetsTopic(), (n) => offsetsPartitionFor(key, n));
      case CoordinatorKeyType.TRANSACTION:
        return leaderFor(TRANSACTION_STATE_TOPIC, () => b.txns.ensureStateTopic(), (n) => transactionPartitionFor(key, n));
      case CoordinatorKeyType.SHARE:
        return fail(ErrorCode.INVALID_REQUEST, "Share groups are not supported by this broker.");
      default:
        return fail(ErrorCode.INVALID_REQUEST, `Unknown coordinator key type ${keyType}.`);
    }
  };
  return {
    apiKey: 10,
    minVersion: 0,
    maxVersion: 6,
    async handle(ctx, req) {
      const keyType = req.keyType ?? CoordinatorKeyType.GROUP;
      if (ctx.apiVersion >= 4) {
        const keys = req.coordinatorKeys ?? [];
        if (keys.length > MAX_COORDINATOR_KEYS) {
          return { throttleTimeMs: 0, coordinators: keys.map((k) => ({ key: k, nodeId: -1, host: "", port: -1, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Too many keys." })) };
        }
        const coordinators: FindCoordinatorResponseCoordinator[] = [];
        for (const k of keys) coordinators.push(await find(k, keyType, ctx.session?.listenerName));
        return { throttleTimeMs: 0, coordinators };
      }
      const c = await find(req.key ?? "", keyType, ctx.session?.listenerName);
      return { throttleTimeMs: 0, errorCode: c.errorCode, errorMessage: c.errorMessage, nodeId: c.nodeId, host: c.host, port: c.port };
    },
  };
}
