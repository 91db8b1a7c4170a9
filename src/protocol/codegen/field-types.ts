/**
 * Per-field facts the emitters share: the TypeScript type of a field, its default value (as a resolved value
 * and as a TypeScript expression), and the condition under which a value differs from that default.
 */
import type { FieldModel, PrimitiveType, StructModel } from "./schema-model.ts";
import { covers } from "./versions.ts";

/** A field's default, resolved. */
export type DefaultValue =
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "bigint"; readonly value: bigint }
  | { readonly kind: "boolean"; readonly value: boolean }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "null" }
  | { readonly kind: "emptyArray" }
  | { readonly kind: "emptyBytes" }
  | { readonly kind: "zeroUuid" }
  | { readonly kind: "struct"; readonly struct: StructModel };

const INT_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  int8: [-0x80, 0x7f],
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
};

/** Parses an integer default ("-1", "0x7fffffff"); throws when malformed. */
function parseInteger(spec: string, where: string): number {
  const m = /^(-?)(0x[0-9a-fA-F]+|\d+)$/.exec(spec.trim());
  if (m === null) throw new Error(`${where}: bad integer default "${spec}"`);
  const magnitude = m[2].startsWith("0x") ? parseInt(m[2].slice(2), 16) : parseInt(m[2], 10);
  return m[1] === "-" ? -magnitude : magnitude;
}

/** Whether the field may be null in at least one of its versions. */
export function isNullable(f: FieldModel): boolean {
  return f.nullable !== null;
}

/** Resolves the default of a field (schema `default`, else the built-in default of its type). */
export function defaultOf(f: FieldModel): DefaultValue {
  const where = f.jsonName;
  const spec = f.defaultSpec;
  if (spec === "null") {
    if (f.nullable === null || !covers(f.nullable, f.versions)) {
      throw new Error(`${where}: default null but not nullable in all versions`);
    }
    return { kind: "null" };
  }
  if (f.isArray) {
    if (spec !== undefined) throw new Error(`${where}: arrays only support a null default`);
    return { kind: "emptyArray" };
  }
  const elem = f.elem;
  if (typeof elem !== "string") {
    if (spec !== undefined) throw new Error(`${where}: structs only support a null default`);
    return f.nullable !== null ? { kind: "null" } : { kind: "struct", struct: elem };
  }
  return primitiveDefault(elem, spec, where);
}

function primitiveDefault(t: PrimitiveType, spec: string | undefined, where: string): DefaultValue {
  switch (t) {
    case "bool":
      if (spec === undefined || spec === "false") return { kind: "boolean", value: false };
      if (spec === "true") return { kind: "boolean", value: true };
      throw new Error(`${where}: bad bool default ${spec}`);
    case "int8":
    case "int16":
    case "uint16":
    case "int32":
    case "uint32": {
      const v = spec === undefined ? 0 : parseInteger(spec, where);
      const [lo, hi] = INT_RANGES[t];
      if (v < lo || v > hi) throw new Error(`${where}: default ${spec} out of range for ${t}`);
      return { kind: "number", value: v };
    }
    case "int64": {
      const v = spec === undefined ? 0n : BigInt(spec.trim());
      if (v < -(2n ** 63n) || v >= 2n ** 63n) throw new Error(`${where}: default ${spec} out of range for int64`);
      return { kind: "bigint", value: v };
    }
    case "float64": {
      const v = spec === undefined ? 0 : Number(spec);
      if (Number.isNaN(v) && spec !== "NaN") throw new Error(`${where}: bad float64 default ${spec}`);
      return { kind: "number", value: v };
    }
    case "string":
      return { kind: "string", value: spec ?? "" };
    case "bytes":
      if (spec !== undefined) throw new Error(`${where}: bytes only support a null default`);
      return { kind: "emptyBytes" };
    case "uuid":
      if (spec !== undefined) throw new Error(`${where}: uuid defaults are not supported`);
      return { kind: "zeroUuid" };
    case "records":
      if (spec !== undefined) throw new Error(`${where}: records only support a null default`);
      return { kind: "null" };
  }
}

/** TypeScript type of one element of the field (no array, no null). */
export function elemTsType(f: FieldModel): string {
  const e = f.elem;
  if (typeof e !== "string") return e.tsName;
  switch (e) {
    case "bool":
      return "boolean";
    case "int64":
      return "bigint";
    case "string":
      return "string";
    case "bytes":
    case "uuid":
      return "Uint8Array";
    case "records":
      return "RecordsValue";
    default:
      return "number";
  }
}

/** TypeScript type of the field's value. */
export function tsType(f: FieldModel): string {
  const base = f.isArray ? `${elemTsType(f)}[]` : elemTsType(f);
  if (f.elem === "records" && !f.isArray) return base; // RecordsValue already includes null
  return isNullable(f) ? `${base} | null` : base;
}

/** A TypeScript expression producing the field's default value (fresh objects for arrays and structs). */
export function defaultExpr(d: DefaultValue): string {
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
    case "emptyArray":
      return "[]";
    case "emptyBytes":
      return "EMPTY_BYTES";
    case "zeroUuid":
      return "ZERO_UUID";
    case "struct":
      return `default${d.struct.tsName}()`;
  }
}

/**
 * A TypeScript condition, over the (non-undefined) value expression `v`, that is true when the value differs
 * from the default `d`. Arrays, bytes and structs are compared deeply (emptiness, all-zero, field by field).
 */
export function differsExpr(f: FieldModel, d: DefaultValue, v: string): string {
  switch (d.kind) {
    case "null":
      return `${v} !== null`;
    case "emptyArray":
    case "emptyBytes":
      return isNullable(f) ? `(${v} === null || ${v}.length !== 0)` : `${v}.length !== 0`;
    case "zeroUuid":
      return `!isZeroUuid(${v})`;
    case "struct":
      return `!isDefault${d.struct.tsName}(${v})`;
    case "number":
      return Number.isNaN(d.value) ? `!Number.isNaN(${v})` : `${v} !== ${defaultExpr(d)}`;
    default:
      return `${v} !== ${defaultExpr(d)}`;
  }
}
