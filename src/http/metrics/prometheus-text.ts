/** Writes the Prometheus text exposition format (version 0.0.4): HELP and TYPE lines, escaped label values. */
import type { FixedHistogram } from "./histogram.ts";

/** Content-Type of the format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Escapes a label value (backslash, double quote, newline). */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(labels: Record<string, string | number> | undefined, extra?: string): string {
  const parts: string[] = [];
  if (labels) for (const k in labels) parts.push(`${k}="${escapeLabel(String(labels[k]))}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function num(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Number.isNaN(v)) return "NaN";
  return String(v);
}

/** Accumulates metric families; each family's HELP/TYPE is written once, before its first sample. */
export class PrometheusText {
  private readonly lines: string[] = [];
  private readonly declared = new Set<string>();

  /** Declares a family (idempotent). */
  family(name: string, type: "counter" | "gauge" | "histogram", help: string): this {
    if (this.declared.has(name)) return this;
    this.declared.add(name);
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
    return this;
  }

  /** A comment line (`# text`, on one line; not a HELP or TYPE line). */
  comment(text: string): this {
    if (/^(HELP|TYPE) /.test(text)) throw new Error(`a comment may not start like a HELP or TYPE line: ${text}`);
    this.lines.push(`# ${text.replace(/\n/g, " ")}`);
    return this;
  }

  /** One sample of a counter or gauge. */
  sample(name: string, value: number, labels?: Record<string, string | number>): this {
    this.lines.push(`${name}${labelText(labels)} ${num(value)}`);
    return this;
  }

  /** The `_bucket`, `_sum` and `_count` samples of a histogram. */
  histogram(name: string, h: FixedHistogram, labels?: Record<string, string | number>): this {
    let cumulative = 0;
    for (let i = 0; i <= h.bounds.length; i++) {
      cumulative += h.counts[i];
      const le = i < h.bounds.length ? num(h.bounds[i]) : "+Inf";
      this.lines.push(`${name}_bucket${labelText(labels, `le="${le}"`)} ${cumulative}`);
    }
    this.lines.push(`${name}_sum${labelText(labels)} ${num(h.sum)}`, `${name}_count${labelText(labels)} ${h.count}`);
    return this;
  }

  /** The whole page. */
  toString(): string {
    return this.lines.join("\n") + "\n";
  }
}
