/**
 * What each API asks of the authorizer, as Kafka checks it, when `authorizer.class.name` is set: the operation on
 * each resource a request names and the error code a refusal answers (TOPIC_, GROUP_, CLUSTER_ or
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED). APIs that name a list of resources ({@link perResourceChecks}) are
 * answered per resource as in Kafka: a refused topic, group, config resource or transactional id gets its error and
 * the others are served; a refused check on the request as a whole (the group of an OffsetCommit) answers the whole
 * request with that code (a response shaped for the API, every error field set). Metadata filters topics itself
 * ({@link topicAllowed}). An API without an entry here is refused with CLUSTER_AUTHORIZATION_FAILED while
 * authorization is on.
 */
import { ErrorCode } from "../protocol/errors.ts";
import { uuidHex } from "../protocol/uuid.ts";
import { AclOperation as Op, ResourceType as R, CLUSTER_NAME, type Authorizer } from "./acl.ts";

/** One check: `op` on resource (`type`, `name`), refused with `code`. */
export interface Check {
  op: number;
  type: number;
  name: string;
  code: number;
}

/** Resolves topic ids (Fetch v13+, Produce v13) to names. */
export type TopicNameById = (idHex: string) => string | undefined;

const T = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
const G = ErrorCode.GROUP_AUTHORIZATION_FAILED;
const C = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
const X = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;

type Req = Record<string, any>;
const topic = (op: number, name: string): Check => ({ op, type: R.TOPIC, name, code: T });
const group = (op: number, name: string): Check => ({ op, type: R.GROUP, name, code: G });
const cluster = (op: number): Check => ({ op, type: R.CLUSTER, name: CLUSTER_NAME, code: C });
const txn = (op: number, name: string): Check => ({ op, type: R.TRANSACTIONAL_ID, name, code: X });

/** Kafka's message for an authorization error code (null for other codes). */
export function authorizationMessage(code: number): string | null {
  return code === T ? "Topic authorization failed." : code === G ? "Group authorization failed." : code === C ? "Cluster authorization failed." : code === X ? "Transactional Id authorization failed." : null;
}

/** FindCoordinator's check of one key: DESCRIBE on the transactional id (key type 1) or the group. */
function coordinatorKey(keyType: number, key: string): Check {
  return keyType === 1 ? txn(Op.DESCRIBE, key) : group(Op.DESCRIBE, key);
}

/** Config resource types (DescribeConfigs and friends) to ACL checks. */
function configResource(op: number, r: { resourceType: number; resourceName: string }): Check {
  if (r.resourceType === 2) return topic(op, r.resourceName);
  if (r.resourceType === 32) return group(op, r.resourceName);
  return cluster(op);
}

/** A request Kafka authorizes resource by resource: checks on the request as a whole, and per element of `req[list]`. */
export interface PerResource {
  /** Checks that refuse the whole request. */
  whole: Check[];
  /** The request array naming the resources (structs or plain names). */
  list: string;
  /** The checks of each element of `req[list]`, in order. */
  each: Check[][];
}

/**
 * The per-resource checks of a request whose API Kafka answers per resource (FindCoordinator v4+, CreateTopics, DeleteTopics,
 * DeleteRecords, ListOffsets, OffsetForLeaderEpoch, CreatePartitions, Describe/Alter/IncrementalAlterConfigs,
 * OffsetCommit, OffsetFetch, TxnOffsetCommit, OffsetDelete, DescribeGroups, DeleteGroups, ConsumerGroupDescribe,
 * DescribeTransactions, DescribeProducers), or null for other APIs. OffsetFetch v8+ is split per group here and per
 * topic inside each group by {@link offsetFetchTopicRefusals}.
 */
export function perResourceChecks(apiKey: number, req: Req, nameOf: TopicNameById): PerResource | null {
  const named = (t: Req | string): string => (typeof t === "string" ? t : requestTopicName(t, nameOf));
  const over = (whole: Check[], list: string, check: (item: any) => Check[]): PerResource | null => {
    const items = req[list];
    return { whole, list, each: Array.isArray(items) ? items.map(check) : [] };
  };
  const topicsOf = (op: number) => (list: string, whole: Check[] = []) => over(whole, list, (t) => [topic(op, named(t))]);
  switch (apiKey) {
    case 2: case 23:
      return topicsOf(Op.DESCRIBE)("topics");
    case 8:
      return topicsOf(Op.READ)("topics", [group(Op.READ, req.groupId)]);
    case 9:
      // v8+: per group; a group's refused topics are answered inside it ({@link offsetFetchTopicRefusals}).
      if (offsetFetchBatched(req)) return over([], "groups", (g: Req) => [group(Op.DESCRIBE, g.groupId)]);
      return topicsOf(Op.DESCRIBE)("topics", [group(Op.DESCRIBE, req.groupId)]);
    case 10:
      return Array.isArray(req.coordinatorKeys) && req.coordinatorKeys.length > 0 ? over([], "coordinatorKeys", (k: string) => [coordinatorKey(req.keyType, k)]) : null;
    case 15:
      return over([], "groups", (g: string) => [group(Op.DESCRIBE, g)]);
    case 19:
      return topicsOf(Op.CREATE)("topics");
    case 20:
      return topicsOf(Op.DELETE)(deleteTopicsList(req));
    case 21:
      return topicsOf(Op.DELETE)("topics");
    case 28:
      return topicsOf(Op.READ)("topics", [txn(Op.WRITE, req.transactionalId), group(Op.READ, req.groupId)]);
    case 32:
      return over([], "resources", (r) => [configResource(Op.DESCRIBE_CONFIGS, r)]);
    case 33: case 44:
      return over([], "resources", (r) => [configResource(Op.ALTER_CONFIGS, r)]);
    case 37:
      return topicsOf(Op.ALTER)("topics");
    case 42:
      return over([], "groupsNames", (g: string) => [group(Op.DELETE, g)]);
    case 47:
      return topicsOf(Op.READ)("topics", [group(Op.DELETE, req.groupId)]);
    case 61:
      return topicsOf(Op.READ)("topics");
    case 65:
      return over([], "transactionalIds", (t: string) => [txn(Op.DESCRIBE, t)]);
    case 69:
      return over([], "groupIds", (g: string) => [group(Op.DESCRIBE, g)]);
    default:
      return null;
  }
}

/**
 * Whether an OffsetFetch names its groups in `groups` (v8+): v0-7 name one `groupId`, and decode `groups` as an
 * empty array (so an empty `groups` means v0-7; a v8+ request naming no group has nothing to authorize either).
 */
export function offsetFetchBatched(req: Req): boolean {
  return Array.isArray(req.groups) && req.groups.length > 0;
}

/** The DeleteTopics request array naming the topics: `topicNames` (v0-5) or `topics` (v6+; the other is decoded empty). */
export function deleteTopicsList(req: Req): "topicNames" | "topics" {
  return Array.isArray(req.topics) && req.topics.length > 0 ? "topics" : "topicNames";
}

/** The checks of one request, or null when the API is open (ApiVersions, the SASL APIs, Metadata, DescribeTopicPartitions). */
export function requestChecks(apiKey: number, req: Req, nameOf: TopicNameById): Check[] | null {
  const split = perResourceChecks(apiKey, req, nameOf);
  if (split !== null) return [...split.whole, ...split.each.flat()];
  const topics = (list: Req[] | null | undefined, op: number) => (list ?? []).map((t) => topic(op, requestTopicName(t, nameOf)));
  switch (apiKey) {
    case 3: case 17: case 18: case 36: case 75:
      return null; // Metadata and DescribeTopicPartitions check DESCRIBE per topic themselves
    case 0:
      return [...(req.transactionalId ? [txn(Op.WRITE, req.transactionalId)] : []), ...topics(req.topicData, Op.WRITE)];
    case 1:
      // A follower's fetch (replica id set) needs CLUSTER_ACTION on the cluster, as in Kafka.
      return (req.replicaState?.replicaId ?? req.replicaId ?? -1) >= 0 ? [cluster(Op.CLUSTER_ACTION)] : topics(req.topics, Op.READ);
    case 10:
      // v0-3 name one key (`key`; `coordinatorKeys` decodes empty); v4+ are answered per key (perResourceChecks).
      return [coordinatorKey(req.keyType, req.key ?? "")];
    case 11: case 12: case 13: case 14: case 68:
      return [group(Op.READ, req.groupId)];
    case 16: case 60: case 66:
      // Answered to everyone; what the principal may not describe is left out ({@link hideUnauthorized}).
      return [];
    case 35: case 29: case 50:
      return [cluster(Op.DESCRIBE)];
    case 30: case 31: case 51:
      return [cluster(Op.ALTER)];
    case 43:
      return [cluster(Op.ALTER)];
    case 48:
      return [cluster(Op.DESCRIBE_CONFIGS)];
    case 49:
      return [cluster(Op.ALTER_CONFIGS)];
    case 22:
      return req.transactionalId ? [txn(Op.WRITE, req.transactionalId)] : [cluster(Op.IDEMPOTENT_WRITE)];
    case 24:
      return req.transactions ? (req.transactions as Req[]).flatMap((t) => [txn(Op.WRITE, t.transactionalId), ...topics(t.topics, Op.WRITE)]) : [txn(Op.WRITE, req.v3AndBelowTransactionalId), ...topics(req.v3AndBelowTopics, Op.WRITE)];
    case 25:
      return [txn(Op.WRITE, req.transactionalId), group(Op.READ, req.groupId)];
    case 26:
      return [txn(Op.WRITE, req.transactionalId)];
    case 45:
      return [cluster(Op.ALTER)];
    case 46:
      return [cluster(Op.DESCRIBE)];
    default:
      return [cluster(Op.CLUSTER_ACTION)];
  }
}

/**
 * The error code refusing `req`, or null when every check passes. CreateTopics passes a topic on CREATE for the
 * cluster too; the idempotent producer passes on IDEMPOTENT_WRITE for the cluster or WRITE on any topic, as in Kafka.
 */
export function refusal(authz: Authorizer, who: { principal: string; host: string }, apiKey: number, req: Req, nameOf: TopicNameById): number | null {
  const checks = requestChecks(apiKey, req, nameOf);
  return checks === null ? null : firstRefused(authz, who, apiKey, checks);
}

/** The error code of the first of `checks` the authorizer refuses, or null when all pass (with the fallbacks of {@link refusal}). */
export function firstRefused(authz: Authorizer, who: { principal: string; host: string }, apiKey: number, checks: readonly Check[]): number | null {
  for (const c of checks) {
    if (authz.authorize(who, c.op, c.type, c.name)) continue;
    if (apiKey === 19 && authz.authorize(who, Op.CREATE, R.CLUSTER, CLUSTER_NAME)) continue;
    if (apiKey === 22 && c.type === R.CLUSTER && authz.authorizeAny(who, Op.WRITE, R.TOPIC)) continue;
    return c.code;
  }
  return null;
}

/** What {@link topicAllowed} needs of the broker. */
export interface AuthorizerHolder {
  readonly authorizer: Authorizer | null;
}

/** Whether the request's principal may perform `op` on topic `name` (always, without an authorizer or a session); CREATE also passes on the cluster. */
export function topicAllowed(b: AuthorizerHolder, ctx: { session?: { principal: string; clientHost: string } }, op: number, name: string): boolean {
  if (b.authorizer === null || ctx.session === undefined) return true;
  const who = { principal: ctx.session.principal, host: ctx.session.clientHost };
  if (b.authorizer.authorize(who, op, R.TOPIC, name)) return true;
  return op === Op.CREATE && b.authorizer.authorize(who, Op.CREATE, R.CLUSTER, CLUSTER_NAME);
}

/** The name of a request's topic entry (by name, or by id through `nameOf`). */
export function requestTopicName(t: Req, nameOf: TopicNameById): string {
  return t.name ?? t.topic ?? (t.topicId instanceof Uint8Array ? nameOf(uuidHex(t.topicId)) ?? "" : "");
}

/** The authorizer's answer for the request's principal: whether it may perform `op` on resource (`type`, `name`). */
export type May = (op: number, type: number, name: string) => boolean;

/** The APIs whose responses {@link hideUnauthorized} narrows. */
export const NARROWED_RESPONSES: ReadonlySet<number> = new Set([3, 9, 15, 16, 19, 60, 66, 69, 75]);

/** "Not requested" in an authorized-operations field. */
const OPERATIONS_NOT_REQUESTED = -2147483648;

/** `ops` (a bit per ACL operation) narrowed to the operations the principal may perform on the resource. */
function narrowOps(ops: number | undefined, may: May, type: number, name: string): number | undefined {
  if (ops === undefined || ops === OPERATIONS_NOT_REQUESTED) return ops;
  let out = 0;
  for (let op = 0; op < 31; op++) if ((ops & (1 << op)) !== 0 && may(op, type, name)) out |= 1 << op;
  return out;
}

/**
 * Leaves out of a response what Kafka hides from a principal instead of refusing the request: ListGroups lists only
 * groups it may DESCRIBE (all with DESCRIBE on the cluster), ListTransactions only transactional ids it may DESCRIBE,
 * an OffsetFetch for all of a group's topics only topics it may DESCRIBE; and the authorized operations reported
 * for the cluster (Metadata, DescribeCluster; none without DESCRIBE on it), topics (Metadata, DescribeTopicPartitions)
 * and groups (DescribeGroups, ConsumerGroupDescribe) are only those the principal may perform; CreateTopics (v5+)
 * leaves out the configuration of a topic the principal may not DESCRIBE_CONFIGS.
 */
export function hideUnauthorized(apiKey: number, req: Req, res: Req, may: May, nameOf: TopicNameById): void {
  if (apiKey === 3 || apiKey === 60) {
    // Kafka reports the cluster's operations only to a principal that may DESCRIBE the cluster (else none: 0)
    const describable = may(Op.DESCRIBE, R.CLUSTER, CLUSTER_NAME);
    const ops = res.clusterAuthorizedOperations;
    res.clusterAuthorizedOperations = describable || ops === undefined || ops === OPERATIONS_NOT_REQUESTED ? narrowOps(ops, may, R.CLUSTER, CLUSTER_NAME) : 0;
  }
  if (apiKey === 3 || apiKey === 75) for (const t of (res.topics ?? []) as Req[]) t.topicAuthorizedOperations = narrowOps(t.topicAuthorizedOperations, may, R.TOPIC, t.name ?? "");
  if (apiKey === 15 || apiKey === 69) for (const g of (res.groups ?? []) as Req[]) g.authorizedOperations = narrowOps(g.authorizedOperations, may, R.GROUP, g.groupId);
  if (apiKey === 19) {
    // A topic created (or validated) for a principal that may not DESCRIBE_CONFIGS it: Kafka leaves its
    // configuration out (TOPIC_AUTHORIZATION_FAILED in topicConfigErrorCode, -1 partitions and replication factor)
    for (const t of (res.topics ?? []) as Req[]) {
      // (fields a version before 5 lacks are not encoded)
      if (t.errorCode !== ErrorCode.NONE || may(Op.DESCRIBE_CONFIGS, R.TOPIC, t.name)) continue;
      t.topicConfigErrorCode = T;
      t.numPartitions = -1;
      t.replicationFactor = -1;
      t.configs = [];
    }
  }
  const topicVisible = (t: Req) => may(Op.DESCRIBE, R.TOPIC, requestTopicName(t, nameOf));
  if (apiKey === 16 && !may(Op.DESCRIBE, R.CLUSTER, CLUSTER_NAME)) res.groups = (res.groups as Req[]).filter((g) => may(Op.DESCRIBE, R.GROUP, g.groupId));
  else if (apiKey === 66) res.transactionStates = (res.transactionStates as Req[]).filter((t) => may(Op.DESCRIBE, R.TRANSACTIONAL_ID, t.transactionalId));
  else if (apiKey === 9) {
    if (offsetFetchBatched(req)) {
      const allTopics = new Set((req.groups as Req[]).filter((g) => g.topics === null).map((g) => g.groupId));
      for (const g of (res.groups ?? []) as Req[]) if (allTopics.has(g.groupId)) g.topics = (g.topics as Req[]).filter(topicVisible);
    } else if (req.topics === null && Array.isArray(res.topics)) res.topics = (res.topics as Req[]).filter(topicVisible);
  }
}

/**
 * OffsetFetch v8+ naming topics the principal may not DESCRIBE inside a group: the request without them, and a step
 * adding them back to the group's answer with TOPIC_AUTHORIZATION_FAILED on each partition, as Kafka answers; null
 * when every named topic may be described.
 */
export function offsetFetchTopicRefusals(req: Req, may: May, nameOf: TopicNameById): { served: Req; answer(res: Req): void } | null {
  if (!offsetFetchBatched(req)) return null;
  const refused = new Map<string, Req[]>();
  const groups = (req.groups as Req[]).map((g) => {
    if (!Array.isArray(g.topics)) return g;
    const no = (g.topics as Req[]).filter((t) => !may(Op.DESCRIBE, R.TOPIC, requestTopicName(t, nameOf)));
    if (no.length === 0) return g;
    refused.set(g.groupId, no);
    return { ...g, topics: (g.topics as Req[]).filter((t) => !no.includes(t)) };
  });
  if (refused.size === 0) return null;
  return {
    served: { ...req, groups },
    answer(res) {
      for (const g of (res.groups ?? []) as Req[]) {
        const no = refused.get(g.groupId);
        if (no === undefined || g.errorCode !== ErrorCode.NONE) continue;
        g.topics = [...g.topics, ...no.map((t) => ({ name: t.name, topicId: t.topicId, partitions: (t.partitionIndexes as number[]).map((partitionIndex) => ({ partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: "", errorCode: T })) }))];
      }
    },
  };
}

/**
 * AddPartitionsToTxn v0-3 refused as Kafka refuses it, or null when it may proceed: without WRITE on the
 * transactional id every partition gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED; otherwise, when any topic lacks
 * WRITE, its partitions get TOPIC_AUTHORIZATION_FAILED and the others OPERATION_NOT_ATTEMPTED (nothing is added,
 * and the client knows which topics to blame).
 */
export function addPartitionsRefusal(req: Req, may: May): Req | null {
  const topics = (req.v3AndBelowTopics ?? []) as Req[];
  const txnAllowed = may(Op.WRITE, R.TRANSACTIONAL_ID, req.v3AndBelowTransactionalId ?? "");
  const topicAllowed = new Map(topics.map((t) => [t.name as string, may(Op.WRITE, R.TOPIC, t.name)]));
  if (txnAllowed && [...topicAllowed.values()].every((ok) => ok)) return null;
  const codeOf = (name: string) => (!txnAllowed ? X : topicAllowed.get(name) ? ErrorCode.OPERATION_NOT_ATTEMPTED : T);
  return {
    throttleTimeMs: 0,
    resultsByTopicV3AndBelow: topics.map((t) => ({ name: t.name, resultsByPartition: (t.partitions as number[]).map((partitionIndex) => ({ partitionIndex, partitionErrorCode: codeOf(t.name) })) })),
  };
}
