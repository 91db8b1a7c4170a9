/**
 * FindCoordinator (key 10), versions 0-6. v1 key type (0 group, 1 transaction, 2 share); v3 flexible; v4 batched
 * coordinator keys; v5 and v6 add error codes only. A group key creates `__consumer_offsets` on first use (as Kafka
 * does) and answers with the leader of the group's partition of it (this broker on a single node); a transactional
 * id is answered with this broker; share groups are not supported.
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

/** FindCoordinator key types. */
export const CoordinatorKeyType = { GROUP: 0, TRANSACTION: 1, SHARE: 2 } as const;

/** Most keys one batched request may carry. */
const MAX_COORDINATOR_KEYS = 10_000;

/** The broker leading the `__consumer_offsets` partition of group `groupId`, at its `listenerName` endpoint. */
function groupCoordinator(b: Broker, groupId: string, listenerName: string | undefined): { nodeId: number; host: string; port: number } | undefined {
  const partitions = b.topicsByName.get(OFFSETS_TOPIC)?.partitions ?? [];
  if (partitions.length === 0) return undefined;
  const leader = partitions[offsetsPartitionFor(groupId, partitions.length)].leader;
  return b.clusterBrokers(listenerName).find((x) => x.nodeId === leader);
}

/** Builds the FindCoordinator handler. */
export function findCoordinatorHandler(b: Broker): ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse> {
  const find = async (key: string, keyType: number, listenerName: string | undefined): Promise<FindCoordinatorResponseCoordinator> => {
    const adv = b.advertised(listenerName);
    const ok = { key, nodeId: b.nodeId, host: adv.host, port: adv.port, errorCode: ErrorCode.NONE, errorMessage: null };
    const fail = (errorCode: number, errorMessage: string) => ({ key, nodeId: -1, host: "", port: -1, errorCode, errorMessage });
    switch (keyType) {
      case CoordinatorKeyType.GROUP:
        try {
          await b.ensureInternalTopic(OFFSETS_TOPIC, () => b.groups.ensureOffsetsTopic());
        } catch (e) {
          b.logger.warn(`cannot create __consumer_offsets: ${(e as Error).message}`);
          return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, "The coordinator is not available.");
        }
        {
          const leader = groupCoordinator(b, key, listenerName);
          if (leader === undefined) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, "The coordinator is not available.");
          return { ...ok, nodeId: leader.nodeId, host: leader.host, port: leader.port };
        }
      case CoordinatorKeyType.TRANSACTION:
        return ok;
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
