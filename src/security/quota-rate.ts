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
  /** The quota (per second) of the last update. */
  quota: number;
}

/** Sensors kept before those that are full again (no different from new ones) are dropped. */
export const QUOTA_SENSORS_PRUNED_ABOVE = 10_000;

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

  /** How many sensors are kept. */
  size(): number {
    return this.buckets.size;
  }

  private burstOf(quota: number): number {
    return (quota * (this.samples - 1) * this.windowMs) / 1000;
  }

  private refilled(sensor: string, quota: number, nowMs: number): Bucket {
    let b = this.buckets.get(sensor);
    if (b === undefined) {
      if (this.buckets.size >= QUOTA_SENSORS_PRUNED_ABOVE) this.prune(nowMs);
      this.buckets.set(sensor, (b = { balance: this.burstOf(quota), lastMs: nowMs, quota }));
    }
    b.balance = Math.min(this.burstOf(quota), b.balance + ((nowMs - b.lastMs) * quota) / 1000);
    b.lastMs = nowMs;
    b.quota = quota;
    return b;
  }

  /** Drops the sensors whose balance has refilled to the burst (a client that went quiet: a new sensor would be the same). */
  private prune(nowMs: number): void {
    for (const [sensor, b] of this.buckets) {
      if (b.balance + ((nowMs - b.lastMs) * b.quota) / 1000 >= this.burstOf(b.quota)) this.buckets.delete(sensor);
    }
  }

  private throttleOf(b: Bucket, quota: number): number {
    // As Kafka, one throttle never exceeds the whole quota window.
    return b.balance >= 0 ? 0 : Math.min(Math.ceil((-b.balance * 1000) / quota), this.samples * this.windowMs);
  }
}
