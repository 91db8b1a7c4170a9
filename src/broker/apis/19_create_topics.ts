/**
 * CreateTopics (key 19), versions 2-7. v1 validateOnly; v4 default partitions/replication (-1); v5 flexible
 * and the created topic's configs in the response; v7 topic ids. `assignments` (with both counts -1) name each
 * partition's brokers, preferred leader first: a single node accepts only itself; a cluster's control plane checks
 * them as Kafka's controller does and places the partitions there (see Broker.createTopic).
 */
import type { CreateTopicsRequest, CreateTopicsResponse, CreateTopicsResponseCreatableTopicResult } from "../../protocol/generated/19_create_topics.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { topicOperationError } from "../topic-operation-error.ts";
import { ZERO_UUID } from "../../protocol/wire.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";
import { describeTopicConfigs } from "../topic-configs.ts";
import { parseLogConfig } from "../../storage/log-config.ts";

/** Builds the CreateTopics handler. */
export function createTopicsHandler(b: Broker): ApiHandler<CreateTopicsRequest, CreateTopicsResponse> {
  return {
    apiKey: 19,
    minVersion: 2,
    maxVersion: 7,
    async handle(ctx, req) {
      const seen = new Map<string, number>();
      for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
      // Topics are created one after the other; each succeeds or fails whole (see Broker.createTopic).
      const topics: CreateTopicsResponseCreatableTopicResult[] = [];
      const answered = new Set<string>();
      for (const t of req.topics) {
        // A name listed twice gets one answer (INVALID_REQUEST), as Kafka.
        if (answered.has(t.name)) continue;
        answered.add(t.name);
        topics.push(await createOne(t));
      }
      return { throttleTimeMs: 0, topics };

      async function createOne(t: CreateTopicsRequest["topics"][number]): Promise<CreateTopicsResponseCreatableTopicResult> {
        const out: CreateTopicsResponseCreatableTopicResult = {
          name: t.name,
          topicId: ZERO_UUID,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          numPartitions: -1,
          replicationFactor: -1,
          configs: [],
        };
        if ((seen.get(t.name) ?? 0) > 1) {
          out.errorCode = ErrorCode.INVALID_REQUEST;
          out.errorMessage = `Create topics request from client contains multiple entries for topic ${t.name}.`;
          return out;
        }
        const configs: Record<string, string> = {};
        for (const c of t.configs) {
          if (c.value === null) {
            out.errorCode = ErrorCode.INVALID_CONFIG;
            out.errorMessage = `Null value not supported for topic config ${c.name}`;
            return out;
          }
          configs[c.name] = c.value;
        }
        try {
          // a manual assignment (both counts -1) puts each partition on the brokers it names, checked as Kafka does
          const manual = t.assignments.length > 0 ? t.assignments : null;
          const topic = await b.createTopic(t.name, t.numPartitions, t.replicationFactor, configs, req.validateOnly ?? false, manual);
          out.numPartitions = manual !== null ? manual.length : t.numPartitions === -1 ? b.config.num("num.partitions") : t.numPartitions;
          out.replicationFactor = manual !== null ? manual[0].brokerIds.length : t.replicationFactor === -1 ? b.config.num("default.replication.factor") : t.replicationFactor;
          if (topic) out.topicId = topic.id;
          if (ctx.apiVersion >= 5) {
            // Validate-only creates nothing, but Kafka still reports the configs the topic would get.
            const parsed = topic ? null : parseLogConfig(configs, b.defaultLogConfig);
            const described = topic ?? (parsed?.ok ? { overrides: configs, config: parsed.config } : null);
            out.configs = described
              ? // a config given in the request is reported as given (Kafka: the stored string, e.g. compact,compact)
                describeTopicConfigs(b, described, null).map((e) => ({ name: e.name, value: configs[e.name] ?? e.value, readOnly: e.readOnly, configSource: e.configSource, isSensitive: false }))
              : [];
          }
        } catch (e) {
          const err = topicOperationError(e);
          if (err.unexpected) b.logger.error(`creating topic ${t.name} failed: ${(e as Error)?.stack ?? e}`);
          out.errorCode = err.code;
          out.errorMessage = err.message;
        }
        return out;
      }
    },
  };
}
