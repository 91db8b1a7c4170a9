/**
 * Emits `schema.ts`: a typed, machine-readable description of every generated message (effective field versions,
 * nullability, tags, defaults, nesting). Tests build random instances from it; nothing at run time needs it.
 */
import { CodeBuilder } from "./code-builder.ts";
import { GENERATED_HEADER } from "./emit-codec.ts";
import { defaultOf } from "./field-types.ts";
import type { FieldModel, MessageModel } from "./schema-model.ts";
import type { VersionRange } from "./versions.ts";

function range(r: VersionRange | null): string {
  return r === null ? "null" : `[${r.lo}, ${r.hi}]`;
}

function defaultLiteral(f: FieldModel): string | null {
  const d = defaultOf(f);
  switch (d.kind) {
    case "number":
      return Object.is(d.value, -0) ? "-0" : String(d.value);
    case "bigint":
      return `${d.value}n`;
    case "boolean":
      return String(d.value);
    case "string":
      return JSON.stringify(d.value);
    case "null":
      return "null";
    default:
      return null; // built-in: empty array/bytes, zero UUID, or a struct of defaults
  }
}

function emitFields(b: CodeBuilder, fields: readonly FieldModel[]): void {
  for (const f of fields) {
    const e = f.elem;
    const parts = [
      `name: ${JSON.stringify(f.prop)}`,
      `type: ${JSON.stringify(typeof e === "string" ? e : "struct")}`,
      `array: ${f.isArray}`,
      `versions: ${range(f.versions)}`,
      `nullableVersions: ${range(f.nullable)}`,
      `taggedVersions: ${range(f.tagged)}`,
      `tag: ${f.tag ?? -1}`,
    ];
    const d = defaultLiteral(f);
    if (d !== null) parts.push(`default: ${d}`);
    parts.push(`ignorable: ${f.ignorable}`);
    if (f.flexibleOverride !== undefined) parts.push(`flexibleVersions: ${range(f.flexibleOverride)}`);
    if (typeof e === "string") {
      b.line(`{ ${parts.join(", ")} },`);
      continue;
    }
    parts.push(`struct: ${JSON.stringify(e.tsName)}`);
    b.open(`{ ${parts.join(", ")}, fields: [`);
    emitFields(b, e.fields);
    b.close("] },");
  }
}

/** Builds the text of `schema.ts` for the given messages (in the given order). */
export function emitSchema(messages: readonly MessageModel[]): string {
  const b = new CodeBuilder();
  b.line(GENERATED_HEADER);
  b.line("// Machine-readable description of the generated messages, for tests, tools and the broker's error responses.");
  b.line("");
  b.doc("Inclusive version range [lo, hi]; hi is 32767 when open-ended.");
  b.line("export type VersionRange = readonly [number, number];");
  b.line("");
  b.doc('Field types of the schema language; nested structs are "struct".');
  b.line(
    'export type FieldType = "bool" | "int8" | "int16" | "uint16" | "int32" | "uint32" | "int64" | "float64" | ' +
      '"string" | "bytes" | "uuid" | "records" | "struct";',
  );
  b.line("");
  b.doc("One field. Versions are effective: narrowed to the versions in which the enclosing struct can appear.");
  b.open("export interface FieldSchema {");
  b.doc("TypeScript property name.");
  b.line("readonly name: string;");
  b.doc("Element type (for arrays, the type of each element).");
  b.line("readonly type: FieldType;");
  b.doc("Whether the field is an array.");
  b.line("readonly array: boolean;");
  b.doc("Versions carrying the field.");
  b.line("readonly versions: VersionRange;");
  b.doc("Versions in which the value may be null, or null.");
  b.line("readonly nullableVersions: VersionRange | null;");
  b.doc("Versions in which the field is tagged, or null.");
  b.line("readonly taggedVersions: VersionRange | null;");
  b.doc("Tag number, or -1 when not tagged.");
  b.line("readonly tag: number;");
  b.doc("Default of scalar and null-default fields; absent for the built-in empty array/bytes, zero UUID, struct.");
  b.line("readonly default?: number | bigint | boolean | string | null;");
  b.doc("Whether a non-default value may be dropped when the version lacks the field.");
  b.line("readonly ignorable: boolean;");
  b.doc("Field-level flexible versions overriding the message's, when present.");
  b.line("readonly flexibleVersions?: VersionRange | null;");
  b.doc("TypeScript type name of a struct field.");
  b.line("readonly struct?: string;");
  b.doc("Fields of a struct field.");
  b.line("readonly fields?: readonly FieldSchema[];");
  b.close();
  b.line("");
  b.doc("One message schema.");
  b.open("export interface MessageSchema {");
  b.doc('Message name, e.g. "ProduceRequest".');
  b.line("readonly name: string;");
  b.doc("Schema kind.");
  b.line('readonly kind: "request" | "response" | "header" | "data";');
  b.doc("API key, or -1 for headers and data.");
  b.line("readonly apiKey: number;");
  b.doc("Valid versions.");
  b.line("readonly validVersions: VersionRange;");
  b.doc("Flexible versions, or null.");
  b.line("readonly flexibleVersions: VersionRange | null;");
  b.doc("Whether the latest version is unstable.");
  b.line("readonly latestVersionUnstable: boolean;");
  b.doc("Top-level fields in wire order.");
  b.line("readonly fields: readonly FieldSchema[];");
  b.close();
  b.line("");
  b.line("let schemas: readonly MessageSchema[] | null = null;");
  b.line("");
  b.doc(
    "Every generated message: headers, broker API requests and responses, and data schemas. Built on the first call, " +
      "so a process that never needs them (a broker that shapes no error response) never holds them.",
  );
  b.open("export function messageSchemas(): readonly MessageSchema[] {");
  b.open("schemas ??= [");
  for (const m of messages) {
    b.open("{");
    b.line(`name: ${JSON.stringify(m.name)},`);
    b.line(`kind: ${JSON.stringify(m.kind)},`);
    b.line(`apiKey: ${m.apiKey},`);
    b.line(`validVersions: ${range(m.valid)},`);
    b.line(`flexibleVersions: ${range(m.flexible)},`);
    b.line(`latestVersionUnstable: ${m.latestVersionUnstable},`);
    b.open("fields: [");
    emitFields(b, m.root.fields);
    b.close("],");
    b.close("},");
  }
  b.close("];");
  b.line("return schemas;");
  b.close("}");
  return b.toString();
}
