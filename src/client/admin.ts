/**
 * Runnel's admin client, used by the CLI: topics (create, delete, list, describe, add partitions), configs
 * (describe, incremental alter), offsets (earliest/latest/by time) and consumer groups (list, describe, delete,
 * committed offsets, standalone offset commits for resets). Cluster-wide changes go to the controller; group
 * requests to the group's coordinator; ListGroups to every broker.
 */
import { initCrc32c } from "../protocol/crc32c.ts";
import { ErrorCode, KafkaError, errorName, isRetriable } from "../protocol/errors.ts";
import { ApiKey } from "../protocol/generated/index.ts";
import type { CreateTopicsRequest, CreateTopicsResponse } from "../protocol/generated/19_create_topics.ts";
import type { DeleteTopicsResponse } from "../protocol/generated/20_delete_topics.ts";
import type { CreatePartitionsResponse } from "../protocol/generated/37_create_partitions.ts";
import type { DescribeConfigsResponse } from "../protocol/generated/32_describe_configs.ts";
import type { IncrementalAlterConfigsResponse } from "../protocol/generated/44_incremental_alter_configs.ts";
import type { ListGroupsResponse } from "../protocol/generated/16_list_groups.ts";
import type { DescribeGroupsResponse } from "../protocol/generated/15_describe_groups.ts";
import type { DeleteGroupsResponse } from "../protocol/generated/42_delete_groups.ts";
import type { ConsumerGroupDescribeResponse } from "../protocol/generated/69_consumer_group_describe.ts";
import { ZERO_UUID } from "../protocol/wire.ts";
import type { TopicPartition } from "./assignors.ts";
import { Cluster, type ClusterOptions, type TopicInfo } from "./cluster-metadata.ts";
import type { BrokerChannel } from "./connection.ts";
import { commitOffsets, fetchCommittedOffsets, findCoordinator, isCoordinatorError, type CommittedOffset, type OffsetToCommit } from "./group-coordinator.ts";
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment, encodeAssignment } from "./group-member.ts";
import { listOffsets, type OffsetAnswer, type OffsetQuery } from "./list-offsets.ts";

/** Config resource types (DescribeConfigs / IncrementalAlterConfigs). */
export const ConfigResourceType = { TOPIC: 2, BROKER: 4 } as const;

/** IncrementalAlterConfigs operations. */
export const AlterConfigOp = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

/** Kafka's config sources (DescribeConfigs). */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
  CLIENT_METRICS_CONFIG: 7,
  GROUP_CONFIG: 8,
} as const;

/** Most attempts of an admin request that fails retriably. */
const MAX_ADMIN_ATTEMPTS = 10;

/** A topic to create. */
export interface NewTopic {
  /** Name. */
  name: string;
  /** Partitions (-1: the broker's num.partitions). */
  numPartitions?: number;
  /** Replication factor (-1: the broker's default). */
  replicationFactor?: number;
  /** Topic config overrides. */
  configs?: Record<string, string>;
}

/** One config entry. */
export interface ConfigEntry {
  /** Key. */
  name: string;
  /** Value, or null (sensitive or unset). */
  value: string | null;
  /** Where the value comes from (see {@link ConfigSource}). */
  source: number;
  /** Whether it is read-only. */
  readOnly: boolean;
  /** Whether it is sensitive. */
  sensitive: boolean;
}

/** A config change. */
export interface ConfigChange {
  /** Key. */
  name: string;
  /** "set" (default), "delete", "append" or "subtract". */
  op?: "set" | "delete" | "append" | "subtract";
  /** Value (ignored for delete). */
  value?: string | null;
}

/** A listed group. */
export interface GroupListing {
  /** Group id. */
  groupId: string;
  /** Protocol type ("consumer" for consumer groups, "" when empty). */
  protocolType: string;
  /** State, when the broker reports it. */
  state: string | null;
}

/** A member of a described group. */
export interface GroupMemberDescription {
  /** Member id. */
  memberId: string;
  /** Static instance id, or null. */
  groupInstanceId: string | null;
  /** Client id. */
  clientId: string;
  /** Client host. */
  clientHost: string;
  /** Assigned partitions (consumer groups). */
  assignment: TopicPartition[];
  /** The raw assignment bytes. */
  assignmentBytes: Uint8Array;
}

/** A described group. */
export interface GroupDescription {
  /** Group id. */
  groupId: string;
  /** Error code (GROUP_ID_NOT_FOUND etc.), or NONE. */
  errorCode: number;
  /** State ("Stable", "Empty", "Dead", ...). */
  state: string;
  /** Protocol type. */
  protocolType: string;
  /** The chosen assignor. */
  protocol: string;
  /** Members. */
  members: GroupMemberDescription[];
}

/** The admin client. */
export class Admin {
  /** The cluster view and connections. */
  readonly cluster: Cluster;
  private connected = false;

  constructor(config: ClusterOptions) {
    this.cluster = new Cluster({ ...config, allowAutoTopicCreation: false });
  }

  /** Connects to the cluster. */
  async connect(): Promise<void> {
    if (this.connected) return;
    await initCrc32c();
    await this.cluster.connect();
    this.connected = true;
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    await this.cluster.close();
  }

  /** Sends any admin request (security commands: SCRAM users, ACLs) to the controller, retrying retriable failures. */
  controllerRequest<T>(apiKey: number, body: unknown): Promise<T> {
    return this.toController<T>(apiKey, body);
  }

  /** Sends a request to the controller (any broker when none is known), retrying retriable failures. */
  private async toController<T>(apiKey: number, body: unknown): Promise<T> {
    let last: unknown = null;
    for (let attempt = 0; attempt < MAX_ADMIN_ATTEMPTS; attempt++) {
      if (attempt > 0) {
        await this.cluster.sleep(this.cluster.backoff.backoffMs(attempt - 1));
        await this.cluster.refresh().catch(() => {});
      }
      try {
        const ch = this.cluster.controllerId >= 0 && this.cluster.brokers.has(this.cluster.controllerId) ? await this.cluster.channel(this.cluster.controllerId) : await this.cluster.anyChannel();
        return await ch.request<T>(apiKey, body);
      } catch (e) {
        last = e;
        if (!(e instanceof KafkaError) || !isRetriable(e.code)) throw e;
      }
    }
    throw last;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Topics

  /** Creates topics; throws the first per-topic error (TOPIC_ALREADY_EXISTS etc.). Returns created topic ids. */
  async createTopics(topics: readonly NewTopic[], opts: { validateOnly?: boolean; timeoutMs?: number } = {}): Promise<{ name: string; numPartitions: number }[]> {
    const req: CreateTopicsRequest = {
      topics: topics.map((t) => ({
        name: t.name,
        numPartitions: t.numPartitions ?? -1,
        replicationFactor: t.replicationFactor ?? -1,
        assignments: [],
        configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs: opts.timeoutMs ?? 30_000,
      validateOnly: opts.validateOnly ?? false,
    };
    const res = await this.toController<CreateTopicsResponse>(ApiKey.CreateTopics, req);
    for (const r of res.topics) {
      if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `cannot create topic '${r.name}': ${r.errorMessage ?? errorName(r.errorCode)}`);
    }
    return res.topics.map((r) => ({ name: r.name, numPartitions: r.numPartitions ?? -1 }));
  }

  /** Deletes topics; throws the first per-topic error. */
  async deleteTopics(names: readonly string[], timeoutMs = 30_000): Promise<void> {
    const ch = await this.cluster.anyChannel();
    const v = ch.version(ApiKey.DeleteTopics);
    const body = v >= 6 ? { topics: names.map((name) => ({ name, topicId: ZERO_UUID })), timeoutMs } : { topicNames: [...names], timeoutMs };
    const res = await this.toController<DeleteTopicsResponse>(ApiKey.DeleteTopics, body);
    for (const r of res.responses) {
      if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `cannot delete topic '${r.name}': ${r.errorMessage ?? errorName(r.errorCode)}`);
    }
    for (const n of names) this.cluster.topics.delete(n);
  }

  /** Every topic (internal ones too when asked), sorted by name. */
  async listTopics(includeInternal = false): Promise<TopicInfo[]> {
    await this.cluster.refresh(null);
    return [...this.cluster.topics.values()].filter((t) => includeInternal || !t.internal).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Metadata of the named topics; throws UNKNOWN_TOPIC_OR_PARTITION for a missing one. */
  async describeTopics(names: readonly string[]): Promise<TopicInfo[]> {
    await this.cluster.refresh(names);
    return names.map((n) => {
      const t = this.cluster.topics.get(n);
      if (t === undefined) {
        const code = this.cluster.topicError(n) || ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        throw new KafkaError(code, `topic '${n}': ${errorName(code)}`);
      }
      return t;
    });
  }

  /** Grows a topic to `totalCount` partitions. */
  async createPartitions(topic: string, totalCount: number, validateOnly = false): Promise<void> {
    const res = await this.toController<CreatePartitionsResponse>(ApiKey.CreatePartitions, {
      topics: [{ name: topic, count: totalCount, assignments: null }],
      timeoutMs: 30_000,
      validateOnly,
    });
    for (const r of res.results) {
      if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `cannot add partitions to '${r.name}': ${r.errorMessage ?? errorName(r.errorCode)}`);
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Configs

  /** Config entries of a topic or broker (`keys` null: all). */
  async describeConfigs(resourceType: number, resourceName: string, keys: readonly string[] | null = null): Promise<ConfigEntry[]> {
    const res = await this.toController<DescribeConfigsResponse>(ApiKey.DescribeConfigs, {
      resources: [{ resourceType, resourceName, configurationKeys: keys === null ? null : [...keys] }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const r = res.results[0];
    if (r === undefined) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, "DescribeConfigs returned no result");
    if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `cannot describe configs of '${resourceName}': ${r.errorMessage ?? errorName(r.errorCode)}`);
    return r.configs.map((c) => ({ name: c.name, value: c.value, source: c.configSource, readOnly: c.readOnly, sensitive: c.isSensitive }));
  }

  /** Applies config changes to a topic or broker (IncrementalAlterConfigs; a broker's own go to that broker). */
  async alterConfigs(resourceType: number, resourceName: string, changes: readonly ConfigChange[], validateOnly = false): Promise<void> {
    const ops = { set: AlterConfigOp.SET, delete: AlterConfigOp.DELETE, append: AlterConfigOp.APPEND, subtract: AlterConfigOp.SUBTRACT };
    const body = {
      resources: [{ resourceType, resourceName, configs: changes.map((c) => ({ name: c.name, configOperation: ops[c.op ?? "set"], value: c.op === "delete" ? null : (c.value ?? null) })) }],
      validateOnly,
    };
    // As Kafka's AdminClient: one broker's configs go to that broker, the rest to the controller.
    const broker = resourceType === ConfigResourceType.BROKER && resourceName !== "" ? Number(resourceName) : -1;
    const res = this.cluster.brokers.has(broker)
      ? await (await this.cluster.channel(broker)).request<IncrementalAlterConfigsResponse>(ApiKey.IncrementalAlterConfigs, body)
      : await this.toController<IncrementalAlterConfigsResponse>(ApiKey.IncrementalAlterConfigs, body);
    for (const r of res.responses) {
      if (r.errorCode !== ErrorCode.NONE) throw new KafkaError(r.errorCode, `cannot alter configs of '${r.resourceName}': ${r.errorMessage ?? errorName(r.errorCode)}`);
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Offsets

  /** ListOffsets for partitions (-2 earliest, -1 latest, or a timestamp in ms). */
  async listOffsets(queries: readonly OffsetQuery[]): Promise<OffsetAnswer[]> {
    return await listOffsets(this.cluster, queries);
  }

  /** Earliest and latest offsets of every partition of `topic`. */
  async topicOffsets(topic: string): Promise<{ partition: number; earliest: bigint; latest: bigint }[]> {
    const [t] = await this.describeTopics([topic]);
    const ps = t.partitions.map((p) => p.partition);
    const earliest = await listOffsets(this.cluster, ps.map((partition) => ({ topic, partition, timestamp: -2n })));
    const latest = await listOffsets(this.cluster, ps.map((partition) => ({ topic, partition, timestamp: -1n })));
    return ps.map((partition, i) => ({ partition, earliest: earliest[i].offset, latest: latest[i].offset }));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Groups

  private async coordinator(groupId: string): Promise<BrokerChannel> {
    const info = await findCoordinator(this.cluster, groupId);
    return await this.cluster.connectTo(info, "coordinator");
  }

  /** Runs `f` against the group's coordinator, re-finding it after coordinator errors. */
  private async withCoordinator<T>(groupId: string, f: (ch: BrokerChannel) => Promise<T>): Promise<T> {
    let last: unknown = null;
    for (let attempt = 0; attempt < MAX_ADMIN_ATTEMPTS; attempt++) {
      if (attempt > 0) await this.cluster.sleep(this.cluster.backoff.backoffMs(attempt - 1));
      try {
        return await f(await this.coordinator(groupId));
      } catch (e) {
        last = e;
        if (!(e instanceof KafkaError) || !(isCoordinatorError(e.code) || e.code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)) throw e;
      }
    }
    throw last;
  }

  /** Every group on every broker, sorted by id. */
  async listGroups(): Promise<GroupListing[]> {
    await this.cluster.refresh();
    const out = new Map<string, GroupListing>();
    const nodes = [...this.cluster.brokers.keys()];
    for (const node of nodes) {
      const ch = await this.cluster.channel(node);
      const res = await ch.request<ListGroupsResponse>(ApiKey.ListGroups, { statesFilter: [], typesFilter: [] });
      if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `ListGroups on broker ${node} failed: ${errorName(res.errorCode)}`);
      for (const g of res.groups) out.set(g.groupId, { groupId: g.groupId, protocolType: g.protocolType, state: g.groupState ?? null });
    }
    return [...out.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  /** Describes groups (a missing group comes back with state "Dead" and no members, as Kafka reports it). */
  async describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    const out: GroupDescription[] = [];
    for (const groupId of groupIds) {
      const res = await this.withCoordinator(groupId, async (ch) => {
        const r = await ch.request<DescribeGroupsResponse>(ApiKey.DescribeGroups, { groups: [groupId], includeAuthorizedOperations: false });
        const code = r.groups[0]?.errorCode ?? ErrorCode.NONE;
        if (isCoordinatorError(code) || code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) throw new KafkaError(code);
        return r;
      });
      const g = res.groups[0];
      if (g === undefined) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `DescribeGroups returned nothing for '${groupId}'`);
      if (g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) {
        // Not a classic group: a KIP-848 consumer group is described by ConsumerGroupDescribe (as Kafka's Admin does).
        const modern = await this.describeConsumerGroup(groupId);
        if (modern !== null) {
          out.push(modern);
          continue;
        }
      }
      out.push({
        groupId: g.groupId,
        errorCode: g.errorCode,
        state: g.groupState,
        protocolType: g.protocolType,
        protocol: g.protocolData,
        members: g.members.map((m) => {
          let assignment: TopicPartition[] = [];
          if (g.protocolType === CONSUMER_PROTOCOL_TYPE && m.memberAssignment.length > 0) {
            try {
              assignment = decodeAssignment(m.memberAssignment);
            } catch {
              assignment = [];
            }
          }
          return { memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null, clientId: m.clientId, clientHost: m.clientHost, assignment, assignmentBytes: m.memberAssignment };
        }),
      });
    }
    return out;
  }

  /** A KIP-848 consumer group by ConsumerGroupDescribe, or null when the broker has none by that id (or no API 69). */
  private async describeConsumerGroup(groupId: string): Promise<GroupDescription | null> {
    const res = await this.withCoordinator(groupId, async (ch) => {
      if (ch.version(ApiKey.ConsumerGroupDescribe) < 0) return null;
      const r = await ch.request<ConsumerGroupDescribeResponse>(ApiKey.ConsumerGroupDescribe, { groupIds: [groupId], includeAuthorizedOperations: false });
      const code = r.groups[0]?.errorCode ?? ErrorCode.NONE;
      if (isCoordinatorError(code) || code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) throw new KafkaError(code);
      return r;
    });
    const g = res?.groups[0];
    if (g === undefined || g.errorCode !== ErrorCode.NONE) return null;
    return {
      groupId,
      errorCode: ErrorCode.NONE,
      state: g.groupState,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocol: g.assignorName,
      members: g.members.map((m) => {
        const assignment = m.assignment.topicPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topicName, partition })));
        return { memberId: m.memberId, groupInstanceId: m.instanceId, clientId: m.clientId, clientHost: m.clientHost, assignment, assignmentBytes: encodeAssignment(assignment) };
      }),
    };
  }

  /** Deletes groups; returns the error code per group (NONE when deleted). */
  async deleteGroups(groupIds: readonly string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const out: { groupId: string; errorCode: number }[] = [];
    for (const groupId of groupIds) {
      const res = await this.withCoordinator(groupId, async (ch) => {
        const r = await ch.request<DeleteGroupsResponse>(ApiKey.DeleteGroups, { groupsNames: [groupId] });
        const code = r.results[0]?.errorCode ?? ErrorCode.NONE;
        if (isCoordinatorError(code) || code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) throw new KafkaError(code);
        return r;
      });
      out.push({ groupId, errorCode: res.results[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR });
    }
    return out;
  }

  /** Committed offsets of a group (every topic when `topics` is null). */
  async groupOffsets(groupId: string, topics: readonly { topic: string; partitions: number[] }[] | null = null): Promise<CommittedOffset[]> {
    return await this.withCoordinator(groupId, (ch) => fetchCommittedOffsets(ch, groupId, topics));
  }

  /** Commits offsets for a group with no active members (how offsets are reset). */
  async commitGroupOffsets(groupId: string, offsets: readonly OffsetToCommit[]): Promise<void> {
    await this.withCoordinator(groupId, (ch) => commitOffsets(ch, groupId, -1, "", offsets));
  }
}
