/** DeleteTopics (key 20), versions 1-6. v4 flexible; v5 error messages; v6 topics by name or id. */
import type { DeleteTopicsRequest, DeleteTopicsResponse, DeleteTopicsResponseDeletableTopicResult } from "../../protocol/generated/20_delete_topics.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { ZERO_UUID } from "../../protocol/wire.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker, Topic } from "../broker.ts";
import { uuidHex } from "../../protocol/uuid.ts";
import { topicOperationError } from "../topic-operation-error.ts";

/** Builds the DeleteTopics handler. */
export function deleteTopicsHandler(b: Broker): ApiHandler<DeleteTopicsRequest, DeleteTopicsResponse> {
  return {
    apiKey: 20,
    minVersion: 1,
    maxVersion: 6,
    async handle(ctx, req) {
      const asked: { name: string | null; id: Uint8Array | null }[] =
        ctx.apiVersion >= 6 ? (req.topics ?? []).map((t) => ({ name: t.name ?? null, id: t.topicId })) : (req.topicNames ?? []).map((n) => ({ name: n, id: null }));
      const responses: DeleteTopicsResponseDeletableTopicResult[] = [];
      for (const a of asked) responses.push(await deleteOne(a));
      return { throttleTimeMs: 0, responses };

      async function deleteOne(a: { name: string | null; id: Uint8Array | null }): Promise<DeleteTopicsResponseDeletableTopicResult> {
        let topic: Topic | undefined;
        if (a.name !== null) topic = b.topicsByName.get(a.name);
        else if (a.id !== null) topic = b.topicsById.get(uuidHex(a.id));
        const out: DeleteTopicsResponseDeletableTopicResult = { name: a.name ?? topic?.name ?? null, topicId: topic?.id ?? a.id ?? ZERO_UUID, errorCode: 0, errorMessage: null };
        if (!b.config.bool("delete.topic.enable")) {
          out.errorCode = ErrorCode.TOPIC_DELETION_DISABLED;
          return out;
        }
        if (topic === undefined) {
          out.errorCode = a.name === null ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          return out;
        }
        if (topic.internal) {
          out.errorCode = ErrorCode.INVALID_REQUEST;
          out.errorMessage = `Topic ${topic.name} is an internal topic and cannot be deleted.`;
          return out;
        }
        try {
          await b.deleteTopic(topic);
        } catch (e) {
          const err = topicOperationError(e);
          if (err.unexpected) b.logger.error(`deleting topic ${topic.name} failed: ${(e as Error)?.stack ?? e}`);
          out.errorCode = err.code;
          out.errorMessage = err.message;
        }
        return out;
      }
    },
  };
}
