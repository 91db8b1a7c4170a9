/**
 * The JSON API's authorization: each `/v1/` action asks the broker's authorizer (when `authorizer.class.name` is
 * set) the same question the matching Kafka API asks, as the HTTP caller's principal; a refusal answers 403 with
 * Kafka's error name (TOPIC_, GROUP_ or CLUSTER_AUTHORIZATION_FAILED). Lists show only what the caller may
 * describe, as Metadata and ListGroups do.
 */
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { AclOperation as Op, ResourceType as R, CLUSTER_NAME, type Authorizer } from "../../security/acl.ts";

const REFUSAL: Record<number, number> = {
  [R.TOPIC]: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  [R.GROUP]: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  [R.CLUSTER]: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
};

/** What one HTTP caller may do. */
export class ApiAccess {
  constructor(
    private readonly authorizer: Authorizer | null,
    /** The caller (`User:name`) and its IP. */
    readonly who: { principal: string; host: string },
  ) {}

  /** Whether the caller may do `op` on (`type`, `name`); always without an authorizer. */
  allows(op: number, type: number, name: string): boolean {
    return this.authorizer === null || this.authorizer.authorize(this.who, op, type, name);
  }

  /** Throws the Kafka authorization error of `type` unless {@link ApiAccess.allows}. */
  require(op: number, type: number, name: string): void {
    if (!this.allows(op, type, name)) throw new KafkaError(REFUSAL[type] ?? ErrorCode.CLUSTER_AUTHORIZATION_FAILED, `${this.who.principal} is not authorized to ${opName(op)} ${typeName(type)} '${name}'`);
  }

  /** CreateTopics' check: CREATE on the topic or on the cluster. */
  requireTopicCreate(name: string): void {
    if (!this.allows(Op.CREATE, R.CLUSTER, CLUSTER_NAME)) this.require(Op.CREATE, R.TOPIC, name);
  }

  /** A cluster-wide check (DescribeCluster, DescribeConfigs of a broker, ACL and user admin). */
  requireCluster(op: number): void {
    this.require(op, R.CLUSTER, CLUSTER_NAME);
  }
}

function opName(op: number): string {
  return (Object.entries(Op).find(([, v]) => v === op)?.[0] ?? String(op)).replace(/_/g, " ");
}

function typeName(type: number): string {
  return (Object.entries(R).find(([, v]) => v === type)?.[0] ?? String(type)).toLowerCase();
}
