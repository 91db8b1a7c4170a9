/**
 * The JSON API's ACL and SCRAM user calls (docs/http-api.md, "ACLs and users"): listing reads the broker's ACL and
 * credential stores; every change goes through the Kafka handlers (CreateAcls, DeleteAcls,
 * AlterUserScramCredentials), so validation and error codes are the Kafka ones. Enumerations are spelled by Kafka's
 * names (`TOPIC`, `PREFIXED`, `READ`, `ALLOW`). A new user's password is salted here with a fresh random salt, as
 * kafka-configs does on the client side; only the salted form reaches the handler.
 */
import type { HttpRequest } from "../../platform/http.ts";
import type { Broker } from "../../broker/broker.ts";
import { ErrorCode, KafkaError, errorName } from "../../protocol/errors.ts";
import { pbkdf2 } from "../../platform/crypto.ts";
import { AclOperation, AclPermission, PatternType, ResourceType, type AclBinding } from "../../security/acl.ts";
import { SCRAM_MAX_ITERATIONS, SCRAM_MECHANISMS } from "../../security/scram.ts";
import type { ApiAccess } from "./api-access.ts";

/** Bytes of salt for a user created through the JSON API. */
export const API_SCRAM_SALT_BYTES = 32;
/** Iterations of a user created without `iterations` (Kafka's minimum, as kafka-configs uses). */
export const API_SCRAM_DEFAULT_ITERATIONS = 4096;

/** A JSON answer (status and body). */
export interface SecurityAnswer {
  status: number;
  body: unknown;
}

const nameOf = (table: Record<string, number>, code: number) => Object.entries(table).find(([, v]) => v === code)?.[0] ?? String(code);

function codeOf(table: Record<string, number>, v: unknown, what: string, dflt?: string): number {
  const name = v === undefined || v === null || v === "" ? dflt : v;
  if (typeof name !== "string" || !(name.toUpperCase() in table)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `${what} must be one of ${Object.keys(table).join(", ")}`);
  return table[name.toUpperCase()];
}

function text(v: unknown, what: string, dflt?: string): string {
  if ((v === undefined || v === null) && dflt !== undefined) return dflt;
  if (typeof v !== "string" || v === "") throw new KafkaError(ErrorCode.INVALID_REQUEST, `${what} is required`);
  return v;
}

/** The JSON form of an ACL. */
export function aclJson(a: AclBinding) {
  return {
    resourceType: nameOf(ResourceType, a.resourceType),
    resourceName: a.resourceName,
    patternType: nameOf(PatternType, a.patternType),
    principal: a.principal,
    host: a.host,
    operation: nameOf(AclOperation, a.operation),
    permission: nameOf(AclPermission, a.permissionType),
  };
}

function bindingOf(q: Record<string, unknown>): AclBinding {
  return {
    resourceType: codeOf(ResourceType, q.resourceType, "resourceType"),
    resourceName: text(q.resourceName, "resourceName"),
    patternType: codeOf(PatternType, q.patternType, "patternType", "LITERAL"),
    principal: text(q.principal, "principal"),
    host: text(q.host, "host", "*"),
    operation: codeOf(AclOperation, q.operation, "operation"),
    permissionType: codeOf(AclPermission, q.permission, "permission", "ALLOW"),
  };
}

function ctx(b: Broker, apiKey: number, version: number) {
  return { header: { requestApiKey: apiKey, requestApiVersion: version, correlationId: 0, clientId: "runnel-http" }, apiVersion: version, remote: "http", receivedAtMs: b.clock.monotonicMs() };
}

function check(code: number, message: string | null): void {
  if (code !== ErrorCode.NONE) throw new KafkaError(code, message ?? errorName(code));
}

/** Serves `/v1/acls` and `/v1/users[/name]`, or returns null when the path is neither. */
export async function securityRoute(b: Broker, req: HttpRequest, parts: string[], q: () => Record<string, unknown>, access: ApiAccess): Promise<SecurityAnswer | null> {
  const [a, name] = parts;
  const m = req.method;
  if (a === "acls" && parts.length === 1) {
    if (m === "GET") {
      access.requireCluster(AclOperation.DESCRIBE);
      return { status: 200, body: { acls: b.acls.all().map(aclJson) } };
    }
    if (m === "POST" || m === "DELETE") access.requireCluster(AclOperation.ALTER);
    if (m === "POST") {
      const x = bindingOf(q());
      const res = await b.handlers[30]!.handle(ctx(b, 30, 3), { creations: [{ resourceType: x.resourceType, resourceName: x.resourceName, resourcePatternType: x.patternType, principal: x.principal, host: x.host, operation: x.operation, permissionType: x.permissionType }] });
      check(res.results[0].errorCode, res.results[0].errorMessage);
      return { status: 201, body: { created: aclJson(x) } };
    }
    if (m === "DELETE") {
      const x = bindingOf(q());
      const filter = { resourceTypeFilter: x.resourceType, resourceNameFilter: x.resourceName, patternTypeFilter: x.patternType, principalFilter: x.principal, hostFilter: x.host, operation: x.operation, permissionType: x.permissionType };
      const res = await b.handlers[31]!.handle(ctx(b, 31, 3), { filters: [filter] });
      const r = res.filterResults[0];
      check(r.errorCode, r.errorMessage);
      if (r.matchingAcls.length === 0) throw new KafkaError(ErrorCode.RESOURCE_NOT_FOUND, "no such ACL");
      return { status: 200, body: { deleted: r.matchingAcls.map((d: AclBinding) => aclJson(d)) } };
    }
  }
  if (a === "users") {
    if (parts.length === 1 && m === "GET") {
      access.requireCluster(AclOperation.DESCRIBE);
      const users = [...b.scramCredentials.describe(null)].map(([user, credentials]) => ({ name: user, credentials })).sort((x, y) => (x.name < y.name ? -1 : 1));
      return { status: 200, body: { users } };
    }
    if (parts.length === 1 && m === "POST") {
      access.requireCluster(AclOperation.ALTER);
      const body = q();
      const user = text(body.name, "name");
      const password = text(body.password, "password");
      const mechanism = SCRAM_MECHANISMS.find((x) => x.name === String(body.mechanism ?? "SCRAM-SHA-256").toUpperCase());
      if (mechanism === undefined) throw new KafkaError(ErrorCode.UNSUPPORTED_SASL_MECHANISM, `mechanism must be one of ${SCRAM_MECHANISMS.map((x) => x.name).join(", ")}`);
      const iterations = body.iterations === undefined || body.iterations === null ? API_SCRAM_DEFAULT_ITERATIONS : Number(body.iterations);
      if (!Number.isInteger(iterations)) throw new KafkaError(ErrorCode.INVALID_REQUEST, "iterations must be an integer");
      const salt = new Uint8Array(API_SCRAM_SALT_BYTES);
      b.random.fill(salt);
      // Bounds are the handler's; salting a huge count first would block the event loop, so refuse it here too.
      const saltedPassword = iterations >= 1 && iterations <= SCRAM_MAX_ITERATIONS ? pbkdf2(mechanism.hash, new TextEncoder().encode(password.normalize("NFKC")), salt, iterations) : new Uint8Array(1);
      const res = await b.handlers[51]!.handle(ctx(b, 51, 0), { deletions: [], upsertions: [{ name: user, mechanism: mechanism.id, iterations, salt, saltedPassword }] });
      check(res.results[0].errorCode, res.results[0].errorMessage);
      return { status: 201, body: { name: user, mechanism: mechanism.name, iterations } };
    }
    if (parts.length === 2 && m === "DELETE") {
      access.requireCluster(AclOperation.ALTER);
      const only = req.query.get("mechanism");
      const have = b.scramCredentials.describe([name]).get(name) ?? [];
      const mechanisms = only ? [only.toUpperCase()] : have.map((c) => c.mechanism);
      if (mechanisms.length === 0) throw new KafkaError(ErrorCode.RESOURCE_NOT_FOUND, `user '${name}' has no SCRAM credentials`);
      const ids = mechanisms.map((mn) => SCRAM_MECHANISMS.find((x) => x.name === mn)?.id ?? -1);
      // one request per mechanism: AlterUserScramCredentials takes one alteration per user and request (Kafka's rule)
      for (const id of ids) {
        const res = await b.handlers[51]!.handle(ctx(b, 51, 0), { deletions: [{ name, mechanism: id }], upsertions: [] });
        check(res.results[0].errorCode, res.results[0].errorMessage);
      }
      return { status: 200, body: { deleted: name, mechanisms } };
    }
  }
  return null;
}
