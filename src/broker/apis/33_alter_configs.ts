/** AlterConfigs (key 33), versions 0-2: replaces all overrides of a topic. v2 flexible. */
import type { AlterConfigsRequest, AlterConfigsResponse } from "../../protocol/generated/33_alter_configs.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";
import { AlterConfigOp, ConfigResourceType, alterTopicConfigs } from "../topic-configs.ts";

/** Builds the AlterConfigs handler. */
export function alterConfigsHandler(b: Broker): ApiHandler<AlterConfigsRequest, AlterConfigsResponse> {
  return {
    apiKey: 33,
    minVersion: 0,
    maxVersion: 2,
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
            alterTopicConfigs(b, t, r.configs.map((c) => ({ name: c.name, op: AlterConfigOp.SET, value: c.value })), true, req.validateOnly);
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
