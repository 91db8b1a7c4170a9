/**
 * DescribeConfigs (key 32), versions 1-4. v1 synonyms and sources; v3 types and documentation; v4 flexible.
 * Resources: topics, this broker or the cluster default (""; dynamic settings only), and groups.
 */
import type { DescribeConfigsRequest, DescribeConfigsResponse, DescribeConfigsResponseDescribeConfigsResult } from "../../protocol/generated/32_describe_configs.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";
import { ConfigResourceType, describeBrokerConfigs, describeGroupConfigs, describeTopicConfigs, type ConfigEntry } from "../topic-configs.ts";

/** Builds the DescribeConfigs handler. */
export function describeConfigsHandler(b: Broker): ApiHandler<DescribeConfigsRequest, DescribeConfigsResponse> {
  return {
    apiKey: 32,
    minVersion: 1,
    maxVersion: 4,
    handle(_ctx, req) {
      const results = req.resources.map((r): DescribeConfigsResponseDescribeConfigsResult => {
        const base = { errorCode: ErrorCode.NONE, errorMessage: null as string | null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] as DescribeConfigsResponseDescribeConfigsResult["configs"] };
        let entries: ConfigEntry[];
        // an empty key list asks for every config, as null does (Kafka's ConfigHelper)
        const keys = r.configurationKeys !== null && r.configurationKeys.length > 0 ? r.configurationKeys : null;
        if (r.resourceType === ConfigResourceType.TOPIC) {
          const t = b.topicsByName.get(r.resourceName);
          if (t === undefined) return { ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `Topic ${r.resourceName} does not exist` };
          entries = describeTopicConfigs(b, t, keys);
        } else if (r.resourceType === ConfigResourceType.BROKER) {
          if (r.resourceName !== "" && r.resourceName !== String(b.nodeId)) {
            return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unexpected broker id ${r.resourceName}` };
          }
          entries = describeBrokerConfigs(b, r.resourceName, keys);
        } else if (r.resourceType === ConfigResourceType.GROUP) {
          if (r.resourceName === "") return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "Default group resources are not allowed." };
          entries = describeGroupConfigs(b, r.resourceName, keys);
        } else {
          return { ...base, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unsupported resource type ${r.resourceType}` };
        }
        base.configs = entries.map((e) => ({
          name: e.name,
          value: e.value,
          readOnly: e.readOnly,
          configSource: e.configSource,
          isSensitive: e.isSensitive ?? false,
          synonyms: req.includeSynonyms ? e.synonyms : [],
          configType: e.configType,
          documentation: req.includeDocumentation ? e.documentation : null,
        }));
        return base;
      });
      return { throttleTimeMs: 0, results };
    },
  };
}
