/** IncrementalAlterConfigs (key 44), versions 0-1: SET, DELETE, APPEND, SUBTRACT per key. v1 flexible. */
import type { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from "../../protocol/generated/44_incremental_alter_configs.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";
import { alterConfigResources } from "../topic-configs.ts";

/** Builds the IncrementalAlterConfigs handler. */
export function incrementalAlterConfigsHandler(b: Broker): ApiHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse> {
  return {
    apiKey: 44,
    minVersion: 0,
    maxVersion: 1,
    async handle(_ctx, req) {
      const resources = req.resources.map((r) => ({ ...r, changes: r.configs.map((c) => ({ name: c.name, op: c.configOperation, value: c.value })) }));
      return { throttleTimeMs: 0, responses: await alterConfigResources(b, resources, false, req.validateOnly) };
    },
  };
}
