/**
 * Group APIs that may append to `__consumer_offsets` run once it exists: creating a topic is asynchronous (durable
 * metadata first), so a request arriving before the topic is there waits for its creation, as FindCoordinator
 * does, instead of being answered COORDINATOR_NOT_AVAILABLE. A creation that fails lets the coordinator answer.
 */
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";
import { OFFSETS_TOPIC } from "../../group/offsets-topic-storage.ts";

/** `handler`, run after `__consumer_offsets` has been created (at once when it exists). */
export function afterOffsetsTopic(b: Broker, handler: ApiHandler): ApiHandler {
  return {
    ...handler,
    handle(ctx, req) {
      if (b.topicsByName.has(OFFSETS_TOPIC)) return handler.handle(ctx, req);
      return b
        .ensureInternalTopic(OFFSETS_TOPIC, () => b.groups.ensureOffsetsTopic())
        .catch(() => 0)
        .then(() => handler.handle(ctx, req));
    },
  };
}
