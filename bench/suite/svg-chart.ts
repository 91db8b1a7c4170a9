/**
 * Small SVG charts for the bench report, written by hand (no chart library): grouped bar charts and scatter
 * plots with linear or log axes, "nice" ticks, a legend, and labels. The output is a standalone SVG document.
 */

/** One series of a bar chart: a value per category (null: no bar). */
export interface BarSeries {
  /** Legend name. */
  name: string;
  /** One value per category. */
  values: (number | null)[];
}

/** One point of a scatter plot. */
export interface ScatterPoint {
  /** X value. */
  x: number;
  /** Y value. */
  y: number;
  /** Short label drawn next to the point. */
  label?: string;
}

/** One series of a scatter plot. */
export interface ScatterSeries {
  /** Legend name. */
  name: string;
  /** Points. */
  points: ScatterPoint[];
}

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];
const FONT = `font-family="Helvetica, Arial, sans-serif"`;
/** Most ticks on an axis. */
const MAX_TICKS = 12;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Formats an axis number compactly. */
export function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}K`;
  if (a === 0) return "0";
  return String(+v.toPrecision(3));
}

/** Evenly spaced "nice" ticks (1, 2 or 5 times a power of ten) from 0 to at least `max`. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step && ticks.length <= MAX_TICKS; v += step) ticks.push(+v.toPrecision(12));
  return ticks;
}

/** Powers of ten covering [min, max] (log axes). */
function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(Math.max(min, 1e-9)));
  const hi = Math.ceil(Math.log10(Math.max(max, min * 10)));
  const ticks: number[] = [];
  for (let e = lo; e <= hi && ticks.length <= MAX_TICKS; e++) ticks.push(10 ** e);
  return ticks;
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function header(f: Frame, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${f.width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold" ${FONT}>${esc(title)}</text>`,
  ];
}

function legend(f: Frame, names: string[]): string[] {
  const out: string[] = [];
  let x = f.left;
  const y = f.height - 12;
  names.forEach((n, i) => {
    out.push(`<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/>`);
    out.push(`<text x="${x + 14}" y="${y}" font-size="11" ${FONT}>${esc(n)}</text>`);
    x += 24 + n.length * 6.5;
  });
  return out;
}

/** A grouped bar chart: one group per category, one bar per series, a linear y axis from 0. */
export function barChart(opts: { title: string; yLabel: string; categories: string[]; series: BarSeries[]; width?: number; height?: number; valueLabels?: boolean }): string {
  const f: Frame = { width: opts.width ?? 860, height: opts.height ?? 420, left: 70, right: 20, top: 40, bottom: 90 };
  const plotW = f.width - f.left - f.right;
  const plotH = f.height - f.top - f.bottom;
  let max = 0;
  for (const s of opts.series) for (const v of s.values) if (v !== null && Number.isFinite(v)) max = Math.max(max, v);
  const ticks = niceTicks(max);
  const top = ticks[ticks.length - 1];
  const y = (v: number) => f.top + plotH - (v / top) * plotH;
  const out = header(f, opts.title);
  for (const t of ticks) {
    out.push(`<line x1="${f.left}" x2="${f.left + plotW}" y1="${y(t)}" y2="${y(t)}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${f.left - 6}" y="${y(t) + 4}" text-anchor="end" font-size="11" ${FONT}>${tickLabel(t)}</text>`);
  }
  out.push(`<text transform="translate(16 ${f.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12" ${FONT}>${esc(opts.yLabel)}</text>`);
  const groupW = plotW / Math.max(1, opts.categories.length);
  const barW = (groupW * 0.8) / Math.max(1, opts.series.length);
  opts.categories.forEach((c, ci) => {
    const gx = f.left + ci * groupW + groupW * 0.1;
    opts.series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === null || !Number.isFinite(v)) return;
      const bx = gx + si * barW;
      out.push(`<rect x="${bx.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${(f.top + plotH - y(v)).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"><title>${esc(`${s.name} ${c}: ${tickLabel(v)}`)}</title></rect>`);
      if (opts.valueLabels) out.push(`<text x="${(bx + barW / 2).toFixed(1)}" y="${(y(v) - 3).toFixed(1)}" text-anchor="middle" font-size="9" ${FONT}>${tickLabel(v)}</text>`);
    });
    const lx = f.left + ci * groupW + groupW / 2;
    out.push(`<text transform="translate(${lx.toFixed(1)} ${f.top + plotH + 14}) rotate(-25)" text-anchor="end" font-size="11" ${FONT}>${esc(c)}</text>`);
  });
  out.push(`<line x1="${f.left}" x2="${f.left}" y1="${f.top}" y2="${f.top + plotH}" stroke="#111827"/>`);
  out.push(`<line x1="${f.left}" x2="${f.left + plotW}" y1="${f.top + plotH}" y2="${f.top + plotH}" stroke="#111827"/>`);
  out.push(...legend(f, opts.series.map((s) => s.name)), "</svg>");
  return out.join("\n") + "\n";
}

/** A scatter plot; `logY` puts the y axis on a log scale (latencies). */
export function scatterChart(opts: { title: string; xLabel: string; yLabel: string; series: ScatterSeries[]; logY?: boolean; width?: number; height?: number }): string {
  const f: Frame = { width: opts.width ?? 860, height: opts.height ?? 460, left: 70, right: 30, top: 40, bottom: 70 };
  const plotW = f.width - f.left - f.right;
  const plotH = f.height - f.top - f.bottom;
  const pts = opts.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xTicks = niceTicks(Math.max(0, ...pts.map((p) => p.x)));
  const xMax = xTicks[xTicks.length - 1];
  const ys = pts.map((p) => p.y).filter((v) => !opts.logY || v > 0);
  const yTicks = opts.logY ? logTicks(Math.min(...ys, 1), Math.max(...ys, 1)) : niceTicks(Math.max(0, ...ys));
  const yMin = opts.logY ? yTicks[0] : 0;
  const yMax = yTicks[yTicks.length - 1];
  const x = (v: number) => f.left + (v / xMax) * plotW;
  const y = opts.logY
    ? (v: number) => f.top + plotH - ((Math.log10(Math.max(v, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotH
    : (v: number) => f.top + plotH - ((v - yMin) / (yMax - yMin)) * plotH;
  const out = header(f, opts.title);
  for (const t of yTicks) {
    out.push(`<line x1="${f.left}" x2="${f.left + plotW}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${f.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" font-size="11" ${FONT}>${tickLabel(t)}</text>`);
  }
  for (const t of xTicks) {
    out.push(`<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${f.top}" y2="${f.top + plotH}" stroke="#f3f4f6"/>`);
    out.push(`<text x="${x(t).toFixed(1)}" y="${f.top + plotH + 16}" text-anchor="middle" font-size="11" ${FONT}>${tickLabel(t)}</text>`);
  }
  out.push(`<text x="${f.left + plotW / 2}" y="${f.top + plotH + 34}" text-anchor="middle" font-size="12" ${FONT}>${esc(opts.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${f.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12" ${FONT}>${esc(opts.yLabel)}</text>`);
  opts.series.forEach((s, si) => {
    const color = COLORS[si % COLORS.length];
    for (const p of s.points) {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
      out.push(`<circle cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="5" fill="${color}" fill-opacity="0.8"><title>${esc(`${s.name} ${p.label ?? ""}: ${tickLabel(p.x)}, ${tickLabel(p.y)}`)}</title></circle>`);
      if (p.label) out.push(`<text x="${(x(p.x) + 7).toFixed(1)}" y="${(y(p.y) + 3).toFixed(1)}" font-size="9" fill="#374151" ${FONT}>${esc(p.label)}</text>`);
    }
  });
  out.push(`<line x1="${f.left}" x2="${f.left}" y1="${f.top}" y2="${f.top + plotH}" stroke="#111827"/>`);
  out.push(`<line x1="${f.left}" x2="${f.left + plotW}" y1="${f.top + plotH}" y2="${f.top + plotH}" stroke="#111827"/>`);
  out.push(...legend(f, opts.series.map((s) => s.name)), "</svg>");
  return out.join("\n") + "\n";
}
