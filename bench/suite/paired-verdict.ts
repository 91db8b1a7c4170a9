/**
 * The verdict rule of the A/B regression check (bench/regression-ab.ts), a pure function of the paired ratios.
 *
 * Each round measures the baseline A and the candidate B back to back; its ratio q = B/A for rates (A/B for
 * times, latencies and memory), so q < 1 means B is worse. The median of the q's gets a distribution-free
 * confidence interval from the sign test (order statistics; no assumption about the load's noise), and:
 * - **regressed**: the whole interval is below 1 and the median is below 1 - tolerance;
 * - **no regression**: the interval's lower end is at or above 1 - tolerance (B is at most `tolerance` worse);
 * - **inconclusive**: anything else (too much noise to tell: the lower end says how large a regression the run
 *   cannot rule out), and always with fewer than 4 pairs (the interval's coverage is below MIN_COVERAGE).
 */

/** Confidence the interval aims for (the largest symmetric order-statistic interval at or above it is taken). */
export const TARGET_COVERAGE = 0.9;

/** Least coverage a verdict other than inconclusive needs (4 pairs give 87.5%). */
export const MIN_COVERAGE = 0.85;

/** The verdict on one row. */
export interface PairedVerdict {
  /** Median of the paired ratios (>1: B better). */
  median: number;
  /** Sign-test interval for that median, and its actual coverage (e.g. 0.969 for 6 pairs: min..max). */
  lo: number;
  hi: number;
  coverage: number;
  /** regressed | no regression | inconclusive (see the module comment). */
  verdict: "regressed" | "no regression" | "inconclusive";
}

/** P(X <= k) for X ~ Binomial(n, 1/2). */
function binomialHalfCdf(n: number, k: number): number {
  let c = 1;
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += c;
    c = (c * (n - i)) / (i + 1);
  }
  return sum / 2 ** n;
}

/**
 * The sign-test interval of n sorted values: 0-based indices [d, n-1-d], whose coverage is 1 - 2 P(X <= d), with
 * the largest d that keeps it >= TARGET_COVERAGE (d = 0, min..max, when even that falls short: n < 5).
 */
export function signTestInterval(n: number): { d: number; coverage: number } {
  if (n < 1) throw new Error("no pairs");
  const coverage = (d: number) => 1 - 2 * binomialHalfCdf(n, d);
  let d = 0;
  while (d + 1 <= (n - 1) / 2 && coverage(d + 1) >= TARGET_COVERAGE) d++;
  return { d, coverage: coverage(d) };
}

/** The verdict for paired ratios (>1: B better) at a tolerance (0.05: B may be 5% worse and still pass). */
export function pairedVerdict(ratios: readonly number[], tolerance: number): PairedVerdict {
  const q = [...ratios].sort((a, b) => a - b);
  const n = q.length;
  const { d, coverage } = signTestInterval(n);
  const median = n % 2 === 1 ? q[(n - 1) / 2] : (q[n / 2 - 1] + q[n / 2]) / 2;
  const lo = q[d];
  const hi = q[n - 1 - d];
  const verdict = coverage < MIN_COVERAGE ? "inconclusive" : hi < 1 && median < 1 - tolerance ? "regressed" : lo >= 1 - tolerance ? "no regression" : "inconclusive";
  return { median, lo, hi, coverage, verdict };
}
