/**
 * Merges the Prometheus text pages of a sharded node's threads (src/shard/shard-metrics.ts) into one page: each
 * family declared once (the first page's HELP and TYPE), and the samples of one series (same name and labels) added
 * up. Node-level counters and gauges are the sum over the threads; partition- and topic-level series come from one
 * thread each (the partition's owner), so adding passes them through; histograms add bucket by bucket (every
 * thread uses the same bounds, and sums of cumulative counts are cumulative). Comment lines other than HELP and
 * TYPE are kept, in page order, before the families.
 */

/** One family while merging. */
interface MergedFamily {
  help: string;
  type: string;
  /** Series text (`name{labels}`) -> summed value, in order of first appearance. */
  series: Map<string, number>;
}

/** The suffixes of a histogram's samples. */
const HISTOGRAM_SUFFIXES = ["_bucket", "_sum", "_count"];

/** Parses a sample value as the text format writes it. */
function valueOf(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  const v = Number(text);
  if (text === "" || (Number.isNaN(v) && text !== "NaN")) throw new Error(`not a sample value: '${text}'`);
  return v;
}

/** The family a sample named `name` belongs to (a histogram's `_bucket`/`_sum`/`_count` belong to the base name). */
function familyOf(name: string, families: Map<string, MergedFamily>): string {
  if (families.has(name)) return name;
  for (const s of HISTOGRAM_SUFFIXES) {
    if (name.endsWith(s)) {
      const base = name.slice(0, -s.length);
      if (families.get(base)?.type === "histogram") return base;
    }
  }
  throw new Error(`sample '${name}' has no family declared before it`);
}

/** Merges `pages` (each a valid exposition whose samples follow their family's TYPE line) into one. */
export function mergeExpositions(pages: readonly string[]): string {
  const families = new Map<string, MergedFamily>();
  const comments: string[] = [];
  for (const page of pages) {
    const helps = new Map<string, string>();
    for (const line of page.split("\n")) {
      if (line === "") continue;
      if (line.startsWith("# HELP ")) {
        const rest = line.slice(7);
        const sp = rest.indexOf(" ");
        helps.set(sp < 0 ? rest : rest.slice(0, sp), sp < 0 ? "" : rest.slice(sp + 1));
        continue;
      }
      if (line.startsWith("# TYPE ")) {
        const [name, type] = line.slice(7).split(" ");
        const f = families.get(name);
        if (f === undefined) families.set(name, { help: helps.get(name) ?? "", type, series: new Map() });
        else if (f.type !== type) throw new Error(`family ${name} is a ${f.type} on one page and a ${type} on another`);
        continue;
      }
      if (line.startsWith("#")) {
        comments.push(line);
        continue;
      }
      // `name{labels} value` (label values may hold spaces: the value is after the last one; no timestamps).
      const sp = line.lastIndexOf(" ");
      const key = line.slice(0, sp);
      const value = valueOf(line.slice(sp + 1));
      const brace = key.indexOf("{");
      const series = families.get(familyOf(brace < 0 ? key : key.slice(0, brace), families))!.series;
      series.set(key, (series.get(key) ?? 0) + value);
    }
  }
  const out: string[] = [...comments];
  for (const [name, f] of families) {
    out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
    for (const [key, v] of f.series) out.push(`${key} ${v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : String(v)}`);
  }
  return out.join("\n") + "\n";
}
