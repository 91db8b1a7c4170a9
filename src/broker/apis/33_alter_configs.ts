/** AlterConfigs (key 33), versions 0-2: replaces all overrides of a topic. v2 flexible. */
import type { AlterConfigsRequest, AlterConfigsResponse } from "../../protocol/generated/33_alter_configs.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";
import { AlterConfigOp, alterConfigResources } from "../topic-configs.ts";

/** Builds the AlterConfigs handler. */
export function alterConfigsHandler(b: Broker): ApiHandler<AlterConfigsRequest, AlterConfigsResponse> {
  return {
    apiKey: 33,
    minVersion: 0,
    maxVersion: 2,
    async handle(_ctx, req) {
      const resources = req.resources.map((r) => ({ ...r, changes: r.configs.map((c) => ({ name: c.name, op: AlterConfigOp.SET, value: c.value })) }));
      return { throttleTimeMs: 0, responses: await alterConfigResources(b, resources, true, req.validateOnly) };
    },
  };
}
