/**
 * A correctly shaped error response for any API and version, built from the generated schemas rather than written
 * per API: used when a handler fails, so the client gets `UNKNOWN_SERVER_ERROR` (or another code) for that one
 * request and keeps its connection, as Kafka's `AbstractRequest.getErrorResponse` does.
 *
 * Shape: every `errorCode` field gets the code; a response array of structs mirrors the request array it answers
 * (same name, or the only struct array at that level, or a string array such as DeleteTopics v1-5's `topicNames`),
 * one element per request element, copying the identifying fields both sides share (name, topicId,
 * partitionIndex...) but not those whose default -1 means unknown. Every other field takes its schema default.
 */
import { messageSchemas, type FieldSchema } from "../protocol/generated/schema.ts";
import { ZERO_UUID } from "../protocol/wire.ts";

/** Request and response fields per API key, from the schemas on the first error response (none held before). */
let byApiKey: { responses: Map<number, readonly FieldSchema[]>; requests: Map<number, readonly FieldSchema[]> } | null = null;

function schemaFields(): NonNullable<typeof byApiKey> {
  if (byApiKey !== null) return byApiKey;
  const responses = new Map<number, readonly FieldSchema[]>();
  const requests = new Map<number, readonly FieldSchema[]>();
  for (const m of messageSchemas()) {
    if (m.kind === "response") responses.set(m.apiKey, m.fields);
    else if (m.kind === "request") requests.set(m.apiKey, m.fields);
  }
  return (byApiKey = { responses, requests });
}

/** Builds the response of API `apiKey` at `version` answering `request` with `errorCode` everywhere it can go. */
export function errorResponse(apiKey: number, version: number, request: unknown, errorCode: number): Record<string, unknown> {
  const { responses, requests } = schemaFields();
  const fields = responses.get(apiKey);
  if (fields === undefined) throw new Error(`no response schema for API key ${apiKey}`);
  const reqFields = requests.get(apiKey) ?? [];
  return buildStruct(fields, reqFields, asRecord(request), version, errorCode, false);
}

function asRecord(x: unknown): Record<string, unknown> | null {
  return x !== null && typeof x === "object" && !(x instanceof Uint8Array) && !Array.isArray(x) ? (x as Record<string, unknown>) : null;
}

function inVersion(f: FieldSchema, v: number): boolean {
  return v >= f.versions[0] && v <= f.versions[1];
}

function buildStruct(
  fields: readonly FieldSchema[],
  reqFields: readonly FieldSchema[],
  req: Record<string, unknown> | null,
  v: number,
  code: number,
  nested: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (!inVersion(f, v)) continue;
    if (f.name === "errorCode" && f.type === "int16" && !f.array) {
      out[f.name] = code;
    } else if (f.array && f.type === "struct") {
      out[f.name] = mirrorArray(f, reqFields, req, v, code, nested);
    } else if (f.type === "struct") {
      out[f.name] = buildStruct(f.fields ?? [], [], null, v, code, true);
    } else if (req !== null && req[f.name] !== undefined && (req[f.name] !== null || nullableAt(f, v)) && !unknownByDefault(f) && sameShape(f, reqFields.find((r) => r.name === f.name && inVersion(r, v)))) {
      out[f.name] = req[f.name];
    } else {
      out[f.name] = defaultOf(f, v);
    }
  }
  return out;
}

/**
 * Whether a response field defaults to -1, "unknown" (CreateTopics' numPartitions and replicationFactor,
 * InitProducerId's producerId...): an error answer leaves it so, as Kafka's, rather than echo the request's value.
 */
function unknownByDefault(f: FieldSchema): boolean {
  return f.default === -1 || f.default === -1n;
}

/** Whether a request field's value can stand in a response field (same name, type and arity). */
function sameShape(resp: FieldSchema, req: FieldSchema | undefined): boolean {
  return req !== undefined && req.type === resp.type && req.array === resp.array && req.type !== "struct" && req.type !== "records" && req.type !== "bytes";
}

/** The response array answering one request array: one element per request element. */
function mirrorArray(f: FieldSchema, reqFields: readonly FieldSchema[], req: Record<string, unknown> | null, v: number, code: number, nested: boolean): unknown[] {
  if (req === null) return [];
  const structArrays = reqFields.filter((r) => r.array && r.type === "struct" && inVersion(r, v) && req[r.name] !== undefined && req[r.name] !== null);
  const source = structArrays.find((r) => r.name === f.name) ?? (structArrays.length === 1 ? structArrays[0] : undefined);
  const elemFields = f.fields ?? [];
  if (source !== undefined) {
    const items = req[source.name] as unknown[];
    return items.map((item) => buildStruct(elemFields, source.fields ?? [], asRecord(item), v, code, true));
  }
  // Partitions named by index (OffsetFetch's `partitionIndexes`): one element per index, with Kafka's
  // INVALID_OFFSET (-1) as the committed offset of an error answer.
  const indexes = reqFields.find((r) => r.array && r.type === "int32" && inVersion(r, v) && /Indexes$/.test(r.name) && Array.isArray(req[r.name]));
  if (indexes !== undefined && structArrays.length === 0 && elemFields.some((e) => e.name === "partitionIndex" && inVersion(e, v))) {
    return (req[indexes.name] as number[]).map((partitionIndex) => {
      const el = buildStruct(elemFields, [], null, v, code, true);
      el.partitionIndex = partitionIndex;
      if ("committedOffset" in el) el.committedOffset = -1n;
      return el;
    });
  }
  // A request naming its entities by plain strings (DeleteTopics v1-5 `topicNames`, DescribeGroups `groups`...), at
  // the top level only: a refused DescribeConfigs resource lists no configs for its `configurationKeys`, as Kafka.
  if (nested) return [];
  const strings = reqFields.find((r) => r.array && r.type === "string" && inVersion(r, v) && Array.isArray(req[r.name]));
  const nameField = elemFields.find((e) => e.type === "string" && !e.array && inVersion(e, v) && /^(name|groupId|transactionalId|topic|key)$/.test(e.name));
  if (strings !== undefined && nameField !== undefined && structArrays.length === 0) {
    return (req[strings.name] as (string | null)[]).map((s) => {
      const el = buildStruct(elemFields, [], null, v, code, true);
      el[nameField.name] = s === null && !nullableAt(nameField, v) ? "" : s;
      return el;
    });
  }
  return [];
}

function nullableAt(f: FieldSchema, v: number): boolean {
  return f.nullableVersions !== null && v >= f.nullableVersions[0] && v <= f.nullableVersions[1];
}

/** The schema default of a field at version v. */
function defaultOf(f: FieldSchema, v: number): unknown {
  const nullable = nullableAt(f, v);
  if (f.array) return nullable && f.default === null ? null : [];
  if (f.default !== undefined) {
    if (f.default === null) return nullable ? null : f.type === "string" ? "" : null;
    if (f.type === "int64" && typeof f.default !== "bigint") return BigInt(f.default as number);
    return f.default;
  }
  switch (f.type) {
    case "uuid":
      return ZERO_UUID;
    case "bytes":
      return nullable ? null : new Uint8Array(0);
    case "records":
      return null;
    case "string":
      return nullable ? null : "";
    case "bool":
      return false;
    case "int64":
      return 0n;
    default:
      return 0;
  }
}
