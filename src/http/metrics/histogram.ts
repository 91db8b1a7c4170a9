/** A fixed-bucket histogram: observing a value touches two numbers and allocates nothing. */

/**
 * Upper bounds (ms) of the latency buckets Runnel uses for request phases and fsync: fine below 3 ms (where the
 * broker's own share of a request lies, so a p99 can be read to 0.05-0.25 ms), coarse above.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
];

/** Cumulative-bucket histogram with fixed upper bounds (Prometheus `le`), plus sum and count. */
export class FixedHistogram {
  /** Upper bounds, ascending; +Inf is implicit. */
  readonly bounds: readonly number[];
  /** Non-cumulative count per bucket; the last slot is +Inf. */
  readonly counts: Float64Array;
  /** Sum of observed values. */
  sum = 0;
  /** Number of observations. */
  count = 0;

  constructor(bounds: readonly number[] = LATENCY_BUCKETS_MS) {
    for (let i = 1; i < bounds.length; i++) if (!(bounds[i] > bounds[i - 1])) throw new Error("histogram bounds must ascend");
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Records one value. */
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }
}
