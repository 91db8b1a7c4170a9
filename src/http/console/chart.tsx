/** A small hand-drawn SVG line chart for live series (throughput, lag): no chart library. */

/** One line of a chart. */
export interface Series {
  /** Legend label. */
  label: string;
  /** CSS colour. */
  color: string;
  /** Values, oldest first. */
  points: number[];
}

const W = 560;
const H = 160;
const PAD_L = 56;
const PAD_B = 18;

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** Draws the series over `slots` time slots (one per second), newest on the right. */
export function LineChart({ series, slots, unit, format, minMax = 4 }: { series: Series[]; slots: number; unit: string; format: (n: number) => string; minMax?: number }) {
  const max = Math.max(minMax, niceMax(Math.max(0, ...series.flatMap((s) => s.points))));
  const x = (i: number, n: number) => PAD_L + ((W - PAD_L - 8) * (slots - n + i)) / Math.max(1, slots - 1);
  const y = (v: number) => 8 + (H - PAD_B - 8) * (1 - v / max);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  return (
    <div class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={series.map((s) => s.label).join(", ")}>
        {ticks.map((t) => (
          <g>
            <line x1={PAD_L} x2={W - 8} y1={y(t)} y2={y(t)} class="grid" />
            <text x={PAD_L - 6} y={y(t) + 4} class="tick" text-anchor="end">
              {format(t)}
            </text>
          </g>
        ))}
        <text x={W - 8} y={H - 4} class="tick" text-anchor="end">now</text>
        <text x={PAD_L} y={H - 4} class="tick">-{slots}s</text>
        {series.map((s) => {
          const n = s.points.length;
          if (n === 0) return null;
          const line = s.points.map((v, i) => `${x(i, n).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
          const area = `${x(0, n).toFixed(1)},${y(0)} ${line} ${x(n - 1, n).toFixed(1)},${y(0)}`;
          return (
            <g data-testid={`series-${s.label}`} data-points={n}>
              <polygon points={area} fill={s.color} opacity="0.12" />
              <polyline points={line} fill="none" stroke={s.color} stroke-width="2" stroke-linejoin="round" />
              <circle cx={x(n - 1, n)} cy={y(s.points[n - 1])} r="3" fill={s.color} />
            </g>
          );
        })}
      </svg>
      <div class="legend">
        {series.map((s) => (
          <span>
            <i style={`background:${s.color}`} />
            {s.label}: <b data-testid={`latest-${s.label}`}>{format(s.points[s.points.length - 1] ?? 0)}</b> {unit}
          </span>
        ))}
      </div>
    </div>
  );
}
