/**
 * Rate sensors for client quotas (bytes, request time, controller mutations) as token buckets (the model Kafka uses for controller mutation quotas,
 * KIP-599): each sensor earns `quota` bytes per second up to a burst of `quota.window.num - 1` windows of
 * `quota.window.size.seconds` (the allowance Kafka's sampled rate gives a new client), and a request spends its
 * bytes. A negative balance is the throttle time: how long until the balance is back to zero at the quota's rate
 * (at most the whole window, `quota.window.num` x `quota.window.size.seconds`, as in Kafka).
 * The shards of a node share their sensors ({@link sharedQuotaTable}): a client whose requests reach several
 * shards spends from one balance, as on one broker.
 */
import { SharedKeyTable } from "../platform/shared-table.ts";

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

/** Sensors a node's shared table holds (beyond them, after pruning the refilled ones, a shard counts alone). */
export const NODE_QUOTA_SENSORS = 4096;
/** Sensor name characters compared exactly (longer names: the rest by hash). */
const SENSOR_CHARS = 96;

/** A new table of quota sensors for the shards of one node to share (its buffer goes to every shard). */
export function sharedQuotaTable(): SharedKeyTable {
  return SharedKeyTable.create({ slots: NODE_QUOTA_SENSORS, keyChars: SENSOR_CHARS, values: 3, globals: 0 });
}

/** Sensors shared with other threads: their table and this thread's monotonic origin (epoch ms of its time 0). */
export interface SharedQuotaSensors {
  table: SharedKeyTable;
  originMs: number;
}

/** The rate sensors of one broker (or, with `shared`, of every shard of a node). */
export class QuotaRates {
  private readonly buckets = new Map<string, Bucket>();
  /** The node's shared sensors (values: balance, last update in epoch ms, quota), or null. */
  private shared: SharedQuotaSensors | null = null;

  constructor(
    /** `quota.window.num`. */
    private readonly samples: number,
    /** `quota.window.size.seconds` in ms. */
    private readonly windowMs: number,
  ) {
    if (samples < 2 || windowMs < 1) throw new Error("quota.window.num must be at least 2 and quota.window.size.seconds at least 1");
  }

  /** From now on, keeps the sensors in the node's `shared` table (a shard, before it serves). */
  share(shared: SharedQuotaSensors): void {
    this.shared = shared;
  }

  /** Spends `bytes` on `sensor` at `nowMs`; returns the throttle time in ms when the balance is owed (`quota` per s), else 0. */
  record(sensor: string, bytes: number, quota: number, nowMs: number): number {
    if (quota <= 0) return 0;
    if (this.shared !== null) {
      const throttle = this.spendShared(this.shared, sensor, bytes, quota, nowMs);
      if (throttle >= 0) return throttle;
    }
    const b = this.refilled(sensor, quota, nowMs);
    b.balance -= bytes;
    return this.throttleOf(b.balance, quota);
  }

  /** The throttle time in ms `sensor` owes at `nowMs` without spending anything (0 when its balance is not negative). */
  owed(sensor: string, quota: number, nowMs: number): number {
    return this.record(sensor, 0, quota, nowMs);
  }

  /** {@link QuotaRates.record} on the node's table; -1 when the table has no room for `sensor`. */
  private spendShared(shared: SharedQuotaSensors, sensor: string, bytes: number, quota: number, nowMs: number): number {
    const t = shared.table;
    const at = shared.originMs + nowMs;
    const burst = this.burstOf(quota);
    return t.locked(() => {
      let slot = t.find(sensor, false);
      if (slot < 0) {
        slot = t.find(sensor, true);
        if (slot < 0) {
          this.pruneShared(t, at);
          slot = t.find(sensor, true);
        }
        if (slot < 0) return -1;
        t.setValue(slot, 0, burst);
        t.setValue(slot, 1, at);
      }
      // Threads' clocks agree only to a fraction of a ms: time never runs backwards for a sensor.
      const elapsed = Math.max(0, at - t.value(slot, 1));
      const balance = Math.min(burst, t.value(slot, 0) + (elapsed * quota) / 1000) - bytes;
      t.setValue(slot, 0, balance);
      t.setValue(slot, 1, Math.max(at, t.value(slot, 1)));
      t.setValue(slot, 2, quota);
      return this.throttleOf(balance, quota);
    });
  }

  /** Drops the shared sensors refilled to their burst (inside the table's lock). */
  private pruneShared(t: SharedKeyTable, at: number): void {
    for (let i = 0; i < t.slots; ) {
      const q = t.inUse(i) ? t.value(i, 2) : 0;
      // A removal moves a later entry into slot i: look at slot i again.
      if (q > 0 && t.value(i, 0) + ((at - t.value(i, 1)) * q) / 1000 >= this.burstOf(q)) t.remove(i);
      else i++;
    }
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

  private throttleOf(balance: number, quota: number): number {
    // As Kafka, one throttle never exceeds the whole quota window.
    return balance >= 0 ? 0 : Math.min(Math.ceil((-balance * 1000) / quota), this.samples * this.windowMs);
  }
}
