/**
 * Rate sensors for client quotas (bytes, request time, controller mutations) as token buckets (the model Kafka uses for controller mutation quotas,
 * KIP-599): each sensor earns `quota` bytes per second up to a burst of `quota.window.num - 1` windows of
 * `quota.window.size.seconds` (the allowance Kafka's sampled rate gives a new client), and a request spends its
 * bytes. A negative balance is the throttle time: how long until the balance is back to zero at the quota's rate
 * (at most the whole window, `quota.window.num` x `quota.window.size.seconds`, as in Kafka).
 */

interface Bucket {
  /** Bytes that may still be spent (negative: owed). */
  balance: number;
  /** Monotonic ms of the last update. */
  lastMs: number;
}

/** The rate sensors of one broker. */
export class QuotaRates {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    /** `quota.window.num`. */
    private readonly samples: number,
    /** `quota.window.size.seconds` in ms. */
    private readonly windowMs: number,
  ) {
    if (samples < 2 || windowMs < 1) throw new Error("quota.window.num must be at least 2 and quota.window.size.seconds at least 1");
  }

  /** Spends `bytes` on `sensor` at `nowMs`; returns the throttle time in ms when the balance is owed (`quota` per s), else 0. */
  record(sensor: string, bytes: number, quota: number, nowMs: number): number {
    if (quota <= 0) return 0;
    const b = this.refilled(sensor, quota, nowMs);
    b.balance -= bytes;
    return this.throttleOf(b, quota);
  }

  /** The throttle time in ms `sensor` owes at `nowMs` without spending anything (0 when its balance is not negative). */
  owed(sensor: string, quota: number, nowMs: number): number {
    return quota <= 0 ? 0 : this.throttleOf(this.refilled(sensor, quota, nowMs), quota);
  }

  private refilled(sensor: string, quota: number, nowMs: number): Bucket {
    const burst = (quota * (this.samples - 1) * this.windowMs) / 1000;
    let b = this.buckets.get(sensor);
    if (b === undefined) this.buckets.set(sensor, (b = { balance: burst, lastMs: nowMs }));
    b.balance = Math.min(burst, b.balance + ((nowMs - b.lastMs) * quota) / 1000);
    b.lastMs = nowMs;
    return b;
  }

  private throttleOf(b: Bucket, quota: number): number {
    // As Kafka, one throttle never exceeds the whole quota window.
    return b.balance >= 0 ? 0 : Math.min(Math.ceil((-b.balance * 1000) / quota), this.samples * this.windowMs);
  }
}
