/**
 * AlterClientQuotas (key 49), versions 0-1 (v1 flexible): sets or removes quota values of user / client-id
 * entities (a null name is the default entity), validated as Kafka 4.4's controller (ClientQuotaControlManager)
 * does, per entry with INVALID_REQUEST:
 * - an entity is a map of its components: a type named twice keeps its last name, and the answer has one entry
 *   per distinct entity;
 * - an entity named again after its first entry, or an entry with a quota key twice, is refused ("duplicate"); the
 *   first entry of a repeated entity is still applied when it was valid (Kafka's records for it are already out);
 * - no components, a type other than user / client-id / ip, an empty name;
 * - ip combined with user or client-id; an ip name that is neither an IP address nor a host name that resolves
 *   (Kafka: InetAddress.getByName);
 * - a set (not a removal) of a key other than the entity's (the four user / client-id quotas, or
 *   `connection_creation_rate` for ip entities, KIP-612), of a value not finite or <= 0, or of a whole-number key
 *   (the byte rates: Java's LONG; the connection rate: INT) above its type's maximum or with a fraction; removals
 *   are not checked (removing what is not there is no change).
 * `validate_only` checks without storing. The listeners enforce the ip quotas (src/broker/connection-rate.ts).
 */
import type { AlterClientQuotasRequest, AlterClientQuotasResponse, AlterClientQuotasResponseEntryData } from "../../protocol/generated/49_alter_client_quotas.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import { IP_CONNECTION_RATE_KEY, QUOTA_KEYS, entityKey, type ClientQuotaStore, type QuotaEntity } from "../../security/client-quotas.ts";
import { resolveHost } from "../../platform/net.ts";

/** Quota keys whose values are whole numbers (Kafka's LONG configs); the others are doubles. */
const WHOLE_NUMBER_KEYS: ReadonlySet<string> = new Set(["producer_byte_rate", "consumer_byte_rate"]);
/** How far from a whole number a LONG quota may be (Kafka's tolerance). */
const WHOLE_NUMBER_EPSILON = 1e-6;
/** Java's Long.MAX_VALUE as a double: a LONG quota above it is refused (Kafka's check). */
const LONG_MAX = 9223372036854775807;
/** Java's Integer.MAX_VALUE: an INT quota (`connection_creation_rate`) above it is refused. */
const INT_MAX = 2147483647;
/** The keys of ip entities (Kafka's QuotaConfig.ipConfigs, an INT). */
const IP_KEYS: ReadonlySet<string> = new Set([IP_CONNECTION_RATE_KEY]);

type Op = AlterClientQuotasRequest["entries"][number]["ops"][number];

/** Why an entity (its components as a map) cannot take these operations, or null when it can (Kafka's order). */
async function entityProblem(entity: QuotaEntity, ops: readonly Op[]): Promise<string | null> {
  if (entity.length === 0) return "Invalid empty client quota entity";
  for (const [type, name] of entity) {
    if (type !== "user" && type !== "client-id" && type !== "ip") return `Unhandled client quota entity type: ${type}`;
    if (name === "") return `Empty ${type} not supported`;
  }
  const ip = entity.find(([type]) => type === "ip");
  if (ip !== undefined) {
    if (entity.length > 1) return "Invalid quota entity combination, IP entity should not be combined with User or ClientId";
    if (ip[1] !== null && (await resolveHost(ip[1])) === null) return `${ip[1]} is not a valid IP or resolvable host.`;
  }
  const keys = ip === undefined ? QUOTA_KEYS : IP_KEYS;
  for (const op of ops) {
    if (op.remove) continue;
    if (!keys.has(op.key)) return `Invalid configuration key ${op.key}`;
    if (!Number.isFinite(op.value)) return `Quota ${op.key} must be a finite number`;
    if (!(op.value > 0)) return `Quota ${op.key} must be greater than 0`;
    if (WHOLE_NUMBER_KEYS.has(op.key) && op.value > LONG_MAX) return `Proposed value for ${op.key} is too large for a LONG.`;
    if (IP_KEYS.has(op.key) && op.value > INT_MAX) return `Proposed value for ${op.key} is too large for an INT.`;
    if ((WHOLE_NUMBER_KEYS.has(op.key) || IP_KEYS.has(op.key)) && Math.abs(op.value % 1) > WHOLE_NUMBER_EPSILON) return `${op.key} cannot be a fractional value.`;
  }
  return null;
}

/** Builds the AlterClientQuotas handler. */
export function alterClientQuotasHandler(store: ClientQuotaStore): ApiHandler<AlterClientQuotasRequest, AlterClientQuotasResponse> {
  return {
    apiKey: 49,
    minVersion: 0,
    maxVersion: 1,
    async handle(_ctx, req) {
      /** Each distinct entity's answer (in first-seen order) and, when valid, what to apply. */
      const results = new Map<string, { entity: QuotaEntity; errorCode: number; errorMessage: string | null; apply: readonly Op[] | null }>();
      for (const e of req.entries) {
        const byType = new Map<string, string | null>();
        for (const c of e.entity) byType.set(c.entityType, c.entityName);
        const entity: QuotaEntity = [...byType];
        const key = entityKey(entity);
        const earlier = results.get(key);
        const keys = new Set(e.ops.map((o) => o.key));
        if (earlier !== undefined || keys.size !== e.ops.length) {
          // Kafka: a repeated entity or key fails the entity, the first entry's valid changes stay applied
          results.set(key, { entity, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Ignoring duplicate entity ${key}`, apply: earlier?.apply ?? null });
          continue;
        }
        const problem = await entityProblem(entity, e.ops);
        results.set(key, { entity, errorCode: problem === null ? ErrorCode.NONE : ErrorCode.INVALID_REQUEST, errorMessage: problem, apply: problem === null ? e.ops : null });
      }
      const entries: AlterClientQuotasResponseEntryData[] = [];
      for (const r of results.values()) {
        const entity = r.entity.map(([entityType, entityName]) => ({ entityType, entityName }));
        if (r.apply !== null && !req.validateOnly) {
          try {
            await store.alter(r.entity, r.apply);
          } catch (err) {
            entries.push({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `Storing the quota failed: ${(err as Error).message}`, entity });
            continue;
          }
        }
        entries.push({ errorCode: r.errorCode, errorMessage: r.errorMessage, entity });
      }
      return { throttleTimeMs: 0, entries };
    },
  };
}
