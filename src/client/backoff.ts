/**
 * Exponential back-off with jitter between retries, as Kafka clients do it (`retry.backoff.ms` doubling up to
 * `retry.backoff.max.ms`, each wait scaled by a random factor in [1 - jitter, 1 + jitter) and capped at the max).
 */
import { systemRandom } from "../platform/random.ts";

/** Kafka's default `retry.backoff.ms`. */
export const DEFAULT_RETRY_BACKOFF_MS = 100;
/** Kafka's default `retry.backoff.max.ms`. */
export const DEFAULT_RETRY_BACKOFF_MAX_MS = 1000;
/** Kafka's back-off jitter. */
export const DEFAULT_BACKOFF_JITTER = 0.2;
/** Back-off growth per attempt. */
const BACKOFF_MULTIPLIER = 2;

/** Computes waits between attempts. */
export class ExponentialBackoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly jitter: number;
  private readonly random: () => number;
  /** Attempt count at which the un-jittered wait reaches the max. */
  private readonly expMax: number;

  /** `random` returns a number in [0, 1) (injectable for tests). */
  constructor(initialMs = DEFAULT_RETRY_BACKOFF_MS, maxMs = DEFAULT_RETRY_BACKOFF_MAX_MS, jitter = DEFAULT_BACKOFF_JITTER, random: () => number = systemRandom.float) {
    if (!(initialMs >= 0) || !Number.isFinite(initialMs)) throw new RangeError(`retry.backoff.ms ${initialMs} must be >= 0`);
    if (!(jitter >= 0 && jitter < 1)) throw new RangeError(`jitter ${jitter} must be in [0, 1)`);
    this.initialMs = initialMs;
    this.maxMs = Math.max(initialMs, maxMs);
    this.jitter = jitter;
    this.random = random;
    this.expMax = initialMs > 0 && this.maxMs > initialMs ? Math.ceil(Math.log(this.maxMs / initialMs) / Math.log(BACKOFF_MULTIPLIER)) : 0;
  }

  /** Milliseconds to wait before retry number `attempts + 1` (`attempts` failures so far, counting from 0). */
  backoffMs(attempts: number): number {
    if (!Number.isInteger(attempts) || attempts < 0) throw new RangeError(`attempts ${attempts} must be a non-negative integer`);
    const exp = Math.min(attempts, this.expMax);
    const term = this.initialMs * BACKOFF_MULTIPLIER ** exp;
    const factor = this.jitter === 0 ? 1 : 1 - this.jitter + this.random() * 2 * this.jitter;
    return Math.min(this.maxMs, Math.floor(term * factor));
  }
}
