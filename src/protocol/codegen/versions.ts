/**
 * Version ranges as Kafka message schemas spell them ("3", "3-5", "3+", "none"), and the set operations the
 * code generator needs to decide which `if (version ...)` guards a field requires.
 */

/** Highest version a schema can name; an open-ended range ("3+") ends here. */
export const MAX_VERSION = 0x7fff;

/** An inclusive, non-empty version range. An empty range is represented by `null`. */
export interface VersionRange {
  /** Lowest version in the range. */
  readonly lo: number;
  /** Highest version in the range ({@link MAX_VERSION} when open-ended). */
  readonly hi: number;
}

/** Parses a schema version spec; returns null for "none". Throws on anything else malformed. */
export function parseVersions(spec: string): VersionRange | null {
  const s = spec.trim();
  if (s === "none") return null;
  let m = /^(\d+)\+$/.exec(s);
  if (m !== null) return range(Number(m[1]), MAX_VERSION);
  m = /^(\d+)-(\d+)$/.exec(s);
  if (m !== null) return range(Number(m[1]), Number(m[2]));
  m = /^(\d+)$/.exec(s);
  if (m !== null) return range(Number(m[1]), Number(m[1]));
  throw new Error(`invalid version spec "${spec}"`);
}

function range(lo: number, hi: number): VersionRange {
  if (!(lo >= 0 && lo <= hi && hi <= MAX_VERSION)) throw new Error(`invalid version range ${lo}-${hi}`);
  return { lo, hi };
}

/** The versions in both ranges, or null. */
export function intersect(a: VersionRange | null, b: VersionRange | null): VersionRange | null {
  if (a === null || b === null) return null;
  const lo = Math.max(a.lo, b.lo);
  const hi = Math.min(a.hi, b.hi);
  return lo <= hi ? { lo, hi } : null;
}

/** The smallest range covering both (a superset of their union). */
export function hull(a: VersionRange | null, b: VersionRange | null): VersionRange | null {
  if (a === null) return b;
  if (b === null) return a;
  return { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
}

/** Whether every version of `inner` is in `outer` (an empty inner is always covered). */
export function covers(outer: VersionRange | null, inner: VersionRange | null): boolean {
  if (inner === null) return true;
  if (outer === null) return false;
  return outer.lo <= inner.lo && inner.hi <= outer.hi;
}

/** Whether `v` lies in `r`. */
export function includes(r: VersionRange | null, v: number): boolean {
  return r !== null && r.lo <= v && v <= r.hi;
}

/** Formats a range the way schemas do ("3+", "3-5", "3", "none"). */
export function formatVersions(r: VersionRange | null): string {
  if (r === null) return "none";
  if (r.hi === MAX_VERSION) return `${r.lo}+`;
  if (r.lo === r.hi) return `${r.lo}`;
  return `${r.lo}-${r.hi}`;
}

/**
 * A TypeScript condition on `version` that is true exactly for the versions of `r`, assuming the version is
 * already known to lie in `known`. Returns "true" or "false" when the answer does not depend on the version.
 */
export function versionCondition(r: VersionRange | null, known: VersionRange): string {
  const x = intersect(r, known);
  if (x === null) return "false";
  if (covers(x, known)) return "true";
  const parts: string[] = [];
  if (x.lo > known.lo) parts.push(`version >= ${x.lo}`);
  if (x.hi < known.hi) parts.push(`version <= ${x.hi}`);
  return parts.join(" && ");
}
