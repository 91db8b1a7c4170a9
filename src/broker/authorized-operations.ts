/**
 * Authorized-operations bit sets (Metadata, DescribeCluster, DescribeGroups). Without an authorizer Kafka answers
 * every operation its ACL model defines for the resource type; bit n is AclOperation code n.
 */

/** Kafka's value for "authorized operations were not requested". */
export const AUTHORIZED_OPERATIONS_NOT_REQUESTED = -2147483648;

/** AclOperation codes (Kafka's numbering). */
const READ = 3, WRITE = 4, CREATE = 5, DELETE = 6, ALTER = 7, DESCRIBE = 8, CLUSTER_ACTION = 9, DESCRIBE_CONFIGS = 10, ALTER_CONFIGS = 11, IDEMPOTENT_WRITE = 12;

const bits = (...ops: number[]): number => ops.reduce((m, op) => m | (1 << op), 0);

/** Every operation defined on a TOPIC resource. */
export const TOPIC_AUTHORIZED_OPERATIONS = bits(READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS);
/** Every operation defined on the CLUSTER resource. */
export const CLUSTER_AUTHORIZED_OPERATIONS = bits(CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE);
