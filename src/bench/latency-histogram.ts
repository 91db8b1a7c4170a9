/**
 * A latency histogram in the HDR style: log-linear buckets over integer microseconds with three significant
 * digits (every value up to 2047 us has its own bucket; above that each power of two is split into 1024 buckets,
 * so a reported percentile is within 0.1% of the true value). Recording is a few integer operations and never
 * allocates; the exact minimum, maximum and sum are kept on the side.
 */

/** Values below this have a bucket each. */
const SUB_BUCKET_COUNT = 2048;
/** Half of {@link SUB_BUCKET_COUNT}: the buckets per power of two above it. */
const SUB_BUCKET_HALF = 1024;
/** log2 of {@link SUB_BUCKET_HALF}. */
const SUB_BUCKET_HALF_BITS = 10;
/** Largest value with its own bucket range (2^31 - 1 us, about 36 minutes); larger values are clamped to it. */
export const MAX_TRACKABLE_MICROS = 0x7fffffff;
/** Number of buckets: the linear range plus 1024 per power of two from 2^11 to 2^30. */
const BUCKET_COUNT = SUB_BUCKET_COUNT + (31 - 11) * SUB_BUCKET_HALF;

/** Percentiles of a histogram in milliseconds (what reports print). */
export interface LatencySummary {
  /** Values recorded. */
  count: number;
  /** Mean (ms). */
  mean: number;
  /** Smallest value (ms). */
  min: number;
  /** Median (ms). */
  p50: number;
  /** 90th percentile (ms). */
  p90: number;
  /** 99th percentile (ms). */
  p99: number;
  /** 99.9th percentile (ms). */
  p999: number;
  /** Largest value (ms). */
  max: number;
}

/** Bucket index of a non-negative integer value below 2^31. */
function bucketOf(v: number): number {
  if (v < SUB_BUCKET_COUNT) return v;
  const shift = 31 - Math.clz32(v) - SUB_BUCKET_HALF_BITS;
  return (shift + 1) * SUB_BUCKET_HALF + (v >>> shift) - SUB_BUCKET_HALF;
}

/** Highest value that falls into bucket `i`. */
function bucketHigh(i: number): number {
  if (i < SUB_BUCKET_COUNT) return i;
  const shift = Math.floor(i / SUB_BUCKET_HALF) - 1;
  const sub = (i % SUB_BUCKET_HALF) + SUB_BUCKET_HALF;
  const width = 2 ** shift;
  return sub * width + width - 1;
}

/** The histogram. */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKET_COUNT);
  private total = 0;
  private sum = 0;
  private minMicros = Infinity;
  private maxMicros = 0;
  private lowBucket = BUCKET_COUNT;
  private highBucket = -1;

  /** Records one latency in microseconds (fractions are rounded up; negatives count as 0). */
  record(micros: number): void {
    this.recordMany(micros, 1);
  }

  /** Records `count` equal latencies in microseconds. */
  recordMany(micros: number, count: number): void {
    if (!(count > 0)) return;
    const exact = micros > 0 ? micros : 0;
    const v = exact >= MAX_TRACKABLE_MICROS ? MAX_TRACKABLE_MICROS : Math.ceil(exact);
    const b = bucketOf(v);
    this.counts[b] += count;
    if (b < this.lowBucket) this.lowBucket = b;
    if (b > this.highBucket) this.highBucket = b;
    this.total += count;
    this.sum += exact * count;
    if (exact < this.minMicros) this.minMicros = exact;
    if (exact > this.maxMicros) this.maxMicros = exact;
  }

  /** Values recorded. */
  get count(): number {
    return this.total;
  }

  /** Largest value recorded (us), 0 when empty. */
  get max(): number {
    return this.maxMicros;
  }

  /** Smallest value recorded (us), 0 when empty. */
  get min(): number {
    return this.total === 0 ? 0 : this.minMicros;
  }

  /** Mean (us), 0 when empty. */
  get mean(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  /**
   * The value (us) at or below which `p` percent of the recorded values fall: the top of the bucket holding
   * that rank, capped at the exact maximum. 0 when empty.
   */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is not within 0..100`);
    const rank = Math.max(1, Math.ceil((p * this.total) / 100 - 1e-9));
    let seen = 0;
    for (let i = this.lowBucket; i <= this.highBucket; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(Math.max(bucketHigh(i), this.minMicros), this.maxMicros);
    }
    return this.maxMicros;
  }

  /** Adds every value of `other` to this histogram. */
  add(other: LatencyHistogram): void {
    if (other.total === 0) return;
    for (let i = other.lowBucket; i <= other.highBucket; i++) this.counts[i] += other.counts[i];
    if (other.lowBucket < this.lowBucket) this.lowBucket = other.lowBucket;
    if (other.highBucket > this.highBucket) this.highBucket = other.highBucket;
    this.total += other.total;
    this.sum += other.sum;
    if (other.minMicros < this.minMicros) this.minMicros = other.minMicros;
    if (other.maxMicros > this.maxMicros) this.maxMicros = other.maxMicros;
  }

  /** Forgets every value. */
  reset(): void {
    if (this.highBucket >= 0) this.counts.fill(0, this.lowBucket, this.highBucket + 1);
    this.total = 0;
    this.sum = 0;
    this.minMicros = Infinity;
    this.maxMicros = 0;
    this.lowBucket = BUCKET_COUNT;
    this.highBucket = -1;
  }

  /** Count, mean, min, p50, p90, p99, p99.9 and max in milliseconds. */
  summary(): LatencySummary {
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count: this.total,
      mean: ms(this.mean),
      min: ms(this.min),
      p50: ms(this.percentile(50)),
      p90: ms(this.percentile(90)),
      p99: ms(this.percentile(99)),
      p999: ms(this.percentile(99.9)),
      max: ms(this.max),
    };
  }
}
