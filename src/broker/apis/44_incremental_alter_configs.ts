/** IncrementalAlterConfigs (key 44), versions 0-1: SET, DELETE, APPEND, SUBTRACT per key. v1 flexible. */
import type { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from "../../protocol/generated/44_incremental_alter_configs.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";
import { ConfigResourceType, alterTopicConfigs } from "../topic-configs.ts";

/** Builds the IncrementalAlterConfigs handler. */
export function incrementalAlterConfigsHandler(b: Broker): ApiHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse> {
  return {
    apiKey: 44,
    minVersion: 0,
    maxVersion: 1,
    handle(_ctx, req) {
      return {
        throttleTimeMs: 0,
        responses: req.resources.map((r) => {
          const out = { errorCode: ErrorCode.NONE, errorMessage: null as string | null, resourceType: r.resourceType, resourceName: r.resourceName };
          if (r.resourceType !== ConfigResourceType.TOPIC) {
            return { ...out, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Broker configs are static; set them in server.properties" };
          }
          const t = b.topicsByName.get(r.resourceName);
          if (t === undefined) return { ...out, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
          try {
            alterTopicConfigs(b, t, r.configs.map((c) => ({ name: c.name, op: c.configOperation, value: c.value })), false, req.validateOnly);
          } catch (e) {
            if (!(e instanceof KafkaError)) throw e;
            return { ...out, errorCode: e.code, errorMessage: e.message };
          }
          return out;
        }),
      };
    },
  };
}
