/**
 * Loads Kafka message schemas (JSON with `//` comments) and turns them into the model the emitters work from:
 * messages, their structs (inline and `commonStructs`), and fields with effective version ranges.
 *
 * Effective versions: every struct gets a "container" range, the versions in which it can appear on the wire
 * (the message's valid versions narrowed by the versions of the fields leading to it, widened over all uses of
 * a common struct). A field's effective versions are its declared versions narrowed to its struct's container;
 * fields that can never appear in a valid version (e.g. removed in Kafka 4.0) are dropped.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { covers, hull, intersect, MAX_VERSION, parseVersions, type VersionRange } from "./versions.ts";

/** Field types that are not structs. */
export type PrimitiveType =
  | "bool"
  | "int8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "float64"
  | "string"
  | "bytes"
  | "uuid"
  | "records";

const PRIMITIVES: ReadonlySet<string> = new Set<PrimitiveType>([
  "bool",
  "int8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "float64",
  "string",
  "bytes",
  "uuid",
  "records",
]);

/** Kinds of schema files. */
export type MessageKind = "request" | "response" | "header" | "data";

/** A struct: the root of a message, an inline nested struct, or a common struct. */
export interface StructModel {
  /** Name in the JSON schema (e.g. "TopicProduceData"); the root's is the message name. */
  readonly jsonName: string;
  /** TypeScript type name (message name + struct name, or the message name for the root). */
  readonly tsName: string;
  /** Description from the field that introduces it. */
  about: string;
  /** Fields in wire order (effective ones only, after {@link loadMessage}). */
  fields: FieldModel[];
  /** Versions in which the struct can appear (a hull over all uses); null if never. */
  container: VersionRange | null;
}

/** A field of a struct. */
export interface FieldModel {
  /** JSON name, e.g. "TopicData". */
  readonly jsonName: string;
  /** TypeScript property name, e.g. "topicData". */
  readonly prop: string;
  /** The schema's `about` text. */
  readonly about: string;
  /** Element type: a primitive or a struct. */
  readonly elem: PrimitiveType | StructModel;
  /** Whether the field is an array of `elem`. */
  readonly isArray: boolean;
  /** Declared versions. */
  readonly declaredVersions: VersionRange | null;
  /** Effective versions (declared, narrowed to the struct's container). */
  versions: VersionRange;
  /** Versions in which the value may be null (narrowed to `versions`), or null. */
  nullable: VersionRange | null;
  /** Versions in which the field is tagged (narrowed to `versions`), or null. */
  tagged: VersionRange | null;
  /** Tag number when tagged. */
  readonly tag: number | null;
  /** Field-level flexibleVersions override: undefined when the message's apply. */
  readonly flexibleOverride: VersionRange | null | undefined;
  /** Whether a non-default value may be dropped silently in versions lacking the field. */
  readonly ignorable: boolean;
  /** The schema's `default` string, if any. */
  readonly defaultSpec: string | undefined;
  /** The schema's `entityType`, if any. */
  readonly entityType: string | undefined;
}

/** One schema file. */
export interface MessageModel {
  /** Message name, e.g. "ProduceRequest". */
  readonly name: string;
  /** File kind. */
  readonly kind: MessageKind;
  /** API key (requests/responses), else -1. */
  readonly apiKey: number;
  /** Valid versions; null for "none". */
  readonly valid: VersionRange | null;
  /** Flexible versions (within valid), or null. */
  readonly flexible: VersionRange | null;
  /** Listener names for requests. */
  readonly listeners: readonly string[];
  /** Whether the latest version is unstable. */
  readonly latestVersionUnstable: boolean;
  /** The root struct (tsName = message name). */
  readonly root: StructModel;
  /** Every struct reachable in a valid version, in first-use order, root first. */
  readonly structs: readonly StructModel[];
}

/** Removes `//` comments (outside strings) from JSON text. */
export function stripJsonComments(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") {
        out += text[i + 1] ?? "";
        i++;
      } else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      continue;
    }
    if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
      continue;
    }
    out += c;
  }
  return out;
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** Property name for a JSON field name: first letter lower-cased. */
export function propName(jsonName: string): string {
  return jsonName.charAt(0).toLowerCase() + jsonName.slice(1);
}

/**
 * TypeScript name of a nested struct: the message name followed by the struct name, except that a struct name
 * already starting with the message name is used as is ("MetadataResponseTopic", not
 * "MetadataResponseMetadataResponseTopic").
 */
export function structTsName(messageName: string, structName: string): string {
  return structName.startsWith(messageName) ? structName : messageName + structName;
}

/** Reads every `*.json` schema in `dir`, sorted by file name. */
export function loadSchemaDir(dir: string): MessageModel[] {
  const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
  return files.map((f) => loadMessage(JSON.parse(stripJsonComments(readFileSync(join(dir, f), "utf8"))), f));
}

/** Builds the model of one parsed schema file. */
export function loadMessage(json: Json, source: string): MessageModel {
  const name: string = json.name;
  const kind: MessageKind = json.type;
  if (!["request", "response", "header", "data"].includes(kind)) throw new Error(`${source}: unknown type ${kind}`);
  const valid = parseVersions(json.validVersions);
  const flexible = intersect(parseVersions(json.flexibleVersions ?? "none"), valid);
  if (flexible !== null && flexible.hi !== MAX_VERSION && valid !== null && flexible.hi !== valid.hi) {
    throw new Error(`${source}: flexibleVersions must be open-ended`);
  }
  const structsByName = new Map<string, StructModel>();
  const pendingFields = new Map<StructModel, Json[]>();
  const tsNames = new Set<string>([name]);
  const newStruct = (jsonName: string, tsName: string, about: string, fields: Json[]): StructModel => {
    if (structsByName.has(jsonName)) throw new Error(`${source}: struct ${jsonName} defined twice`);
    if (jsonName !== name && tsNames.has(tsName)) throw new Error(`${source}: type name ${tsName} used twice`);
    tsNames.add(tsName);
    const s: StructModel = { jsonName, tsName, about, fields: [], container: null };
    structsByName.set(jsonName, s);
    pendingFields.set(s, fields);
    return s;
  };
  for (const cs of json.commonStructs ?? []) {
    newStruct(cs.name, structTsName(name, cs.name), `Shared struct ${cs.name} of ${name}.`, cs.fields);
  }
  const root = newStruct(name, name, "", json.fields ?? []);
  // Resolve fields breadth-first so that inline structs are registered before they are referenced.
  const resolveFields = (s: StructModel, fields: Json[]): FieldModel[] =>
    fields.map((f: Json) => buildField(f, s, source, name, newStruct, structsByName));
  const queue: StructModel[] = [...pendingFields.keys()];
  for (let i = 0; i < queue.length; i++) {
    const s = queue[i];
    const raw = pendingFields.get(s);
    if (raw === undefined) continue;
    pendingFields.delete(s);
    s.fields = resolveFields(s, raw);
    for (const k of pendingFields.keys()) if (!queue.includes(k)) queue.push(k);
  }
  // Containers: walk from the root; a struct reached through several paths gets the hull of them.
  const order: StructModel[] = [];
  const visit = (s: StructModel, container: VersionRange, depth: number) => {
    if (depth > 32) throw new Error(`${source}: struct nesting too deep (recursive?)`);
    if (!order.includes(s)) order.push(s);
    s.container = hull(s.container, container);
    for (const f of s.fields) {
      const fv = intersect(f.declaredVersions, container);
      if (fv !== null && typeof f.elem !== "string") visit(f.elem, fv, depth + 1);
    }
  };
  if (valid !== null) visit(root, valid, 0);
  for (const s of order) {
    const container = s.container;
    if (container === null) throw new Error("unreachable: visited struct without container");
    const kept: FieldModel[] = [];
    for (const f of s.fields) {
      const fv = intersect(f.declaredVersions, container);
      if (fv === null) continue;
      f.versions = fv;
      f.nullable = intersect(f.nullable, fv);
      f.tagged = intersect(f.tagged, fv);
      if (f.tagged !== null && !covers(f.tagged, fv)) {
        throw new Error(`${source}: ${s.tsName}.${f.jsonName} is tagged only in some of its versions (unsupported)`);
      }
      if (f.tagged !== null && !covers(flexible, f.tagged)) {
        throw new Error(`${source}: ${s.tsName}.${f.jsonName} is tagged in non-flexible versions`);
      }
      kept.push(f);
    }
    s.fields = kept;
    const tags = new Set<number>();
    for (const f of kept) {
      if (f.tag === null) continue;
      if (tags.has(f.tag)) throw new Error(`${source}: duplicate tag ${f.tag} in ${s.tsName}`);
      tags.add(f.tag);
    }
  }
  const rootDoc = describeMessage(name, kind, json.apiKey, valid, flexible);
  root.about = rootDoc;
  return {
    name,
    kind,
    apiKey: typeof json.apiKey === "number" ? json.apiKey : -1,
    valid,
    flexible,
    listeners: json.listeners ?? [],
    latestVersionUnstable: json.latestVersionUnstable === true,
    root,
    structs: order,
  };
}

function describeMessage(
  name: string,
  kind: string,
  apiKey: number | undefined,
  valid: VersionRange | null,
  flexible: VersionRange | null,
): string {
  const key = typeof apiKey === "number" ? ` (API key ${apiKey})` : "";
  const v = valid === null ? "none" : valid.lo === valid.hi ? `${valid.lo}` : `${valid.lo}-${valid.hi}`;
  const f = flexible === null ? "none" : `${flexible.lo}+`;
  return `Kafka ${kind} ${name}${key}: versions ${v}, flexible versions ${f}.`;
}

function buildField(
  f: Json,
  owner: StructModel,
  source: string,
  messageName: string,
  newStruct: (jsonName: string, tsName: string, about: string, fields: Json[]) => StructModel,
  structsByName: Map<string, StructModel>,
): FieldModel {
  const where = `${source}: ${owner.tsName}.${f.name}`;
  if (typeof f.name !== "string" || !/^[A-Za-z][A-Za-z0-9]*$/.test(f.name)) throw new Error(`${where}: bad name`);
  let type: string = f.type;
  const isArray = type.startsWith("[]");
  if (isArray) type = type.slice(2);
  let elem: PrimitiveType | StructModel;
  if (PRIMITIVES.has(type)) {
    if (f.fields !== undefined) throw new Error(`${where}: primitive with fields`);
    elem = type as PrimitiveType;
  } else if (f.fields !== undefined) {
    elem = newStruct(type, structTsName(messageName, type), f.about ?? "", f.fields);
  } else {
    const s = structsByName.get(type);
    if (s === undefined) throw new Error(`${where}: unknown struct type ${type}`);
    elem = s;
  }
  if (isArray && elem === "records") throw new Error(`${where}: array of records`);
  const declaredVersions = parseVersions(f.versions);
  const tagged = f.taggedVersions === undefined ? null : parseVersions(f.taggedVersions);
  const tag = f.tag === undefined ? null : Number(f.tag);
  if ((tag === null) !== (tagged === null)) throw new Error(`${where}: tag without taggedVersions or vice versa`);
  if (tag !== null && !(Number.isInteger(tag) && tag >= 0 && tag <= 0x7fffffff)) throw new Error(`${where}: bad tag`);
  const nullable = f.nullableVersions === undefined ? null : parseVersions(f.nullableVersions);
  if (nullable !== null && !isArray && typeof elem === "string" && !["string", "bytes", "records"].includes(elem)) {
    throw new Error(`${where}: ${elem} cannot be nullable`);
  }
  return {
    jsonName: f.name,
    prop: propName(f.name),
    about: f.about ?? "",
    elem,
    isArray,
    declaredVersions,
    versions: declaredVersions ?? { lo: 0, hi: 0 },
    nullable,
    tagged,
    tag,
    flexibleOverride: f.flexibleVersions === undefined ? undefined : parseVersions(f.flexibleVersions),
    ignorable: f.ignorable === true,
    defaultSpec: f.default === undefined ? undefined : String(f.default),
    entityType: f.entityType,
  };
}
