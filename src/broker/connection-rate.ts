/**
 * Connection creation rates (KIP-612) measured as Kafka measures them: each sensor is Kafka's `Rate` over a
 * `WindowedSum` (SampledStat) of `quota.window.num` samples of `quota.window.size.seconds`, plus the one extra
 * "overlapping" sample Kafka keeps, and a connection that takes a rate above its bound is throttled for Kafka's
 * QuotaUtils.boundedThrottleTime: `round((rate - bound) / bound * windowSize)`, at most one sample window.
 * - `max.connection.creation.rate` (the broker sensor) and `listener.name.<l>.max.connection.creation.rate` (one
 *   sensor per listener): every accepted connection is recorded; the listener then waits the longer throttle
 *   before it serves the connection and accepts the next one (Kafka's acceptor blocks). The inter-broker listener
 *   is not recorded on the broker sensor when the broker has more than one listener (Kafka's protected listener).
 * - `connection_creation_rate` of an ip entity (AlterClientQuotas): recorded after that wait, only for an address
 *   with a quota; a connection over it is taken back from the address's, the listener's and the broker's sensor
 *   (Kafka "un-records" it) and closed after the throttle time without being served.
 * The sensors' state is plain numbers ({@link RateWindows.stateSize} per sensor), so a sharded node keeps it in a
 * table every accepting thread shares ({@link nodeConnectionRateTable}) and the rates hold for the node as one broker.
 */
import { SharedKeyTable } from "../platform/shared-table.ts";
import type { ListenerAcceptMetrics } from "../http/metrics/broker-metrics.ts";

/** Kafka's "no limit" for every connection creation rate (Int.MaxValue). */
export const CONNECTION_RATE_UNLIMITED = 2147483647;

/** Sample fields: start of the sample, time of its last event, its sum. */
const START = 0;
const LAST = 1;
const VALUE = 2;
/** Numbers per sample. */
const SAMPLE = 3;
/** State header: index of the current sample, samples in use (Kafka adds them lazily). */
const CURRENT = 0;
const ALLOCATED = 1;
const HEADER = 2;

/**
 * Kafka's sampled rate (`Rate` over `WindowedSum`, MetricConfig of `samples` windows of `windowMs`) on a state of
 * {@link RateWindows.stateSize} numbers, zero for a new sensor. Times are whole milliseconds, as Kafka's.
 */
export class RateWindows {
  /** Numbers of one sensor's state. */
  readonly stateSize: number;

  constructor(
    /** `quota.window.num`. */
    readonly samples: number,
    /** `quota.window.size.seconds` in ms. */
    readonly windowMs: number,
  ) {
    if (!(Number.isInteger(samples) && samples >= 1 && Number.isInteger(windowMs) && windowMs >= 1)) throw new Error(`quota.window.num must be at least 1 and quota.window.size.seconds at least 1 s (got ${samples}, ${windowMs} ms)`);
    this.stateSize = HEADER + SAMPLE * (samples + 1);
  }

  /** Adds `value` at `nowMs` (SampledStat.record: a sample older than one window gives way to the next). */
  record(s: Float64Array, value: number, nowMs: number): void {
    if (s[ALLOCATED] === 0) this.startSample(s, 0, nowMs);
    let at = HEADER + SAMPLE * s[CURRENT];
    if (nowMs - s[at + START] >= this.windowMs) {
      const next = (s[CURRENT] + 1) % (this.samples + 1);
      s[CURRENT] = next;
      at = this.startSample(s, next, nowMs);
    }
    s[at + VALUE] += value;
    s[at + LAST] = nowMs;
  }

  /** Kafka's Rate.windowSize: the time the samples span, at least `samples - 1` whole windows (purges first). */
  windowSize(s: Float64Array, nowMs: number): number {
    this.purge(s, nowMs);
    if (s[ALLOCATED] === 0) this.startSample(s, 0, nowMs);
    let oldest = Infinity;
    for (let i = 0; i < s[ALLOCATED]; i++) oldest = Math.min(oldest, s[HEADER + SAMPLE * i + START]);
    let elapsed = nowMs - oldest;
    const full = Math.floor(elapsed / this.windowMs);
    if (full < this.samples - 1) elapsed += (this.samples - 1 - full) * this.windowMs;
    return Math.max(elapsed, 1);
  }

  /** Kafka's Rate.measure: events per second at `nowMs`. */
  rate(s: Float64Array, nowMs: number): number {
    this.purge(s, nowMs);
    let sum = 0;
    for (let i = 0; i < s[ALLOCATED]; i++) sum += s[HEADER + SAMPLE * i + VALUE];
    return sum / (this.windowSize(s, nowMs) / 1000);
  }

  /**
   * Records one connection and checks the rate against `bound` (Sensor.record with its quota): 0 when within it,
   * else the throttle time in ms, Kafka's `round((rate - bound) / bound * windowSize)` capped at `maxThrottleMs`.
   */
  recordChecked(s: Float64Array, bound: number, nowMs: number, maxThrottleMs: number): number {
    this.record(s, 1, nowMs);
    const rate = this.rate(s, nowMs);
    if (rate <= bound) return 0;
    return Math.min(Math.round(((rate - bound) / bound) * this.windowSize(s, nowMs)), maxThrottleMs);
  }

  /** Kafka's WindowedSum.measure: the sum of the samples not yet obsolete at `nowMs` (purges first). */
  total(s: Float64Array, nowMs: number): number {
    this.purge(s, nowMs);
    let sum = 0;
    for (let i = 0; i < s[ALLOCATED]; i++) sum += s[HEADER + SAMPLE * i + VALUE];
    return sum;
  }

  /** Whether every sample of `s` is obsolete at `nowMs` (the sensor measures as a new one would). */
  idle(s: Float64Array, nowMs: number): boolean {
    for (let i = 0; i < s[ALLOCATED]; i++) if (nowMs - s[HEADER + SAMPLE * i + LAST] < this.samples * this.windowMs) return false;
    return true;
  }

  /** SampledStat.purgeObsoleteSamples: a sample without events for `samples` windows starts again at `nowMs`. */
  private purge(s: Float64Array, nowMs: number): void {
    const expireAge = this.samples * this.windowMs;
    for (let i = 0; i < s[ALLOCATED]; i++) {
      const at = HEADER + SAMPLE * i;
      if (nowMs - s[at + LAST] >= expireAge) this.resetAt(s, at, nowMs);
    }
  }

  private startSample(s: Float64Array, index: number, nowMs: number): number {
    const at = HEADER + SAMPLE * index;
    if (index >= s[ALLOCATED]) s[ALLOCATED] = index + 1;
    this.resetAt(s, at, nowMs);
    return at;
  }

  private resetAt(s: Float64Array, at: number, nowMs: number): void {
    s[at + START] = nowMs;
    s[at + LAST] = nowMs;
    s[at + VALUE] = 0;
  }
}

/** Where sensors' states live: this thread's map, or a table the accepting threads of a node share. */
export interface RateSensorStore {
  /**
   * Runs `fn` with the states of the named sensors (created zeroed when missing), atomically for the sensors of
   * the store; a state is null when a shared table has no room for it (that sensor is not limited then).
   */
  use<T>(names: readonly string[], fn: (states: ReadonlyArray<Float64Array | null>) => T): T;
}

/** Address sensors a broker keeps before those that measure as new ones are dropped. */
export const CONNECTION_RATE_SENSORS_PRUNED_ABOVE = 16_384;

/** The sensors of one thread (a broker, or one accepting thread without a shared table). */
export class LocalRateSensors implements RateSensorStore {
  private readonly states = new Map<string, Float64Array>();
  /** The states handed to `fn` (reused: a use never nests). */
  private readonly picked: Float64Array[] = [];

  constructor(private readonly windows: RateWindows, private readonly monotonicMs: () => number) {}

  use<T>(names: readonly string[], fn: (states: ReadonlyArray<Float64Array | null>) => T): T {
    if (this.states.size >= CONNECTION_RATE_SENSORS_PRUNED_ABOVE) this.prune(Math.floor(this.monotonicMs()));
    const picked = this.picked;
    picked.length = names.length;
    for (let i = 0; i < names.length; i++) {
      let s = this.states.get(names[i]);
      if (s === undefined) this.states.set(names[i], (s = new Float64Array(this.windows.stateSize)));
      picked[i] = s;
    }
    return fn(picked);
  }

  /** How many sensors are kept. */
  size(): number {
    return this.states.size;
  }

  /** Drops the sensors whose samples are all obsolete (Kafka expires an address's sensor after an idle hour). */
  private prune(nowMs: number): void {
    for (const [name, s] of this.states) if (this.windows.idle(s, nowMs)) this.states.delete(name);
  }
}

/** Sensors a node's shared table holds: the broker's, one per listener, and addresses with a quota. */
export const NODE_CONNECTION_RATE_SENSORS = 4096;
/** Sensor name characters compared exactly ("ip:" and an IPv6 address fit). */
const RATE_SENSOR_CHARS = 64;

/** A new table of connection rate sensors for the accepting threads of one node to share. */
export function nodeConnectionRateTable(windows: RateWindows): SharedKeyTable {
  return SharedKeyTable.create({ slots: NODE_CONNECTION_RATE_SENSORS, keyChars: RATE_SENSOR_CHARS, values: windows.stateSize, globals: 0 });
}

/**
 * Sensors in a node's shared table: each use copies the named states out and back inside the table's lock. Times
 * must then be comparable across threads: the caller measures them from the epoch (a thread's monotonic origin
 * plus its monotonic time).
 */
export class SharedRateSensors implements RateSensorStore {
  private readonly scratch: Float64Array[] = [];

  constructor(private readonly windows: RateWindows, private readonly table: SharedKeyTable, private readonly nowMs: () => number) {}

  use<T>(names: readonly string[], fn: (states: ReadonlyArray<Float64Array | null>) => T): T {
    const t = this.table;
    const n = this.windows.stateSize;
    while (this.scratch.length < names.length) this.scratch.push(new Float64Array(n));
    return t.locked(() => {
      // Room first (a prune moves entries, so never between finding this use's slots)
      if (t.size() > t.slots - names.length) this.prune(Math.floor(this.nowMs()));
      const slots = names.map((name) => {
        const slot = t.find(name, false);
        if (slot >= 0) return slot;
        const created = t.find(name, true);
        if (created >= 0) for (let k = 0; k < n; k++) t.setValue(created, k, 0);
        return created;
      });
      const states = slots.map((slot, i) => {
        if (slot < 0) return null;
        const s = this.scratch[i];
        for (let k = 0; k < n; k++) s[k] = t.value(slot, k);
        return s;
      });
      const out = fn(states);
      slots.forEach((slot, i) => {
        if (slot < 0) return;
        const s = this.scratch[i];
        for (let k = 0; k < n; k++) t.setValue(slot, k, s[k]);
      });
      return out;
    });
  }

  /** Drops the shared sensors that measure as new ones (inside the table's lock). */
  private prune(nowMs: number): void {
    const s = new Float64Array(this.windows.stateSize);
    for (let i = 0; i < this.table.slots; ) {
      if (!this.table.inUse(i)) {
        i++;
        continue;
      }
      for (let k = 0; k < s.length; k++) s[k] = this.table.value(i, k);
      // A removal moves a later entry into slot i: look at slot i again.
      if (this.windows.idle(s, nowMs)) this.table.remove(i);
      else i++;
    }
  }
}

/**
 * The samples of the throttle-time averages: Kafka's default MetricConfig (`metrics.num.samples` 2 of
 * `metrics.sample.window.ms` 30 s), which its ConnectionQuotas throttle sensors use. Their state fits in a
 * connection-rate sensor's (checked by {@link ConnectionRates}).
 */
export const THROTTLE_TIME_WINDOWS = new RateWindows(2, 30_000);

/** Which sensors a listener records into. */
export interface RateListener {
  /** The listener's name (its sensor, and its `listener.name.<l>.max.connection.creation.rate`). */
  readonly name: string;
  /** The inter-broker listener of a broker with several listeners: not recorded on the broker sensor. */
  readonly protected: boolean;
}

/** The connection creation rate sensors of a broker (or node) and Kafka's decisions on them. */
export class ConnectionRates {
  /** The longest throttle (Kafka: one `quota.window.size.seconds`). */
  readonly maxThrottleMs: number;
  private readonly listenerSensors = new WeakMap<RateListener, readonly string[]>();

  /** Whether the last {@link acceptDelayMs} that throttled did so for the listener's rate alone (not the broker's too). */
  listenerThrottled = false;

  constructor(readonly windows: RateWindows, private readonly store: RateSensorStore) {
    this.maxThrottleMs = windows.windowMs;
    if (THROTTLE_TIME_WINDOWS.stateSize > windows.stateSize) throw new Error(`quota.window.num ${windows.samples} leaves no room for the throttle-time sensors`);
  }

  /**
   * Records a connection accepted on `listener` at `nowMs` on the broker sensor (unless the listener is protected)
   * and the listener's; returns how long the listener waits before it serves it (the longer throttle), or 0. A
   * throttle is recorded on the listener's throttle-time average (Kafka's listenerConnectionRateThrottleSensor).
   */
  acceptDelayMs(listener: RateListener, brokerRate: number, listenerRate: number, nowMs: number): number {
    return this.store.use(this.sensorsOf(listener), (states) => {
      let throttle = 0;
      const [l, throttleSum, throttleCount, broker] = states;
      if (!listener.protected && broker !== null) throttle = this.windows.recordChecked(broker, brokerRate, nowMs, this.maxThrottleMs);
      if (l !== null) {
        const own = this.windows.recordChecked(l, listenerRate, nowMs, this.maxThrottleMs);
        if (own > 0 || throttle > 0) this.listenerThrottled = own > throttle;
        throttle = Math.max(throttle, own);
      }
      if (throttle > 0 && throttleSum !== null && throttleCount !== null) {
        THROTTLE_TIME_WINDOWS.record(throttleSum, throttle, nowMs);
        THROTTLE_TIME_WINDOWS.record(throttleCount, 1, nowMs);
      }
      return throttle;
    });
  }

  /** The sensor names a connection accepted on `listener` is recorded on, with its throttle sensors (kept per listener). */
  private sensorsOf(listener: RateListener): readonly string[] {
    let names = this.listenerSensors.get(listener);
    if (names === undefined) {
      const own = [`listener:${listener.name}`, `throttle-sum:${listener.name}`, `throttle-n:${listener.name}`];
      this.listenerSensors.set(listener, (names = listener.protected ? own : [...own, "broker"]));
    }
    return names;
  }

  /** The listener's `/metrics` figures at `nowMs` (see {@link ListenerAcceptMetrics}). */
  measure(listener: RateListener, nowMs: number): ListenerAcceptMetrics {
    const n = listener.name;
    const names = [`listener:${n}`, `throttle-sum:${n}`, `throttle-n:${n}`, `ip-throttle-sum:${n}`, `ip-throttle-n:${n}`, "broker"];
    return this.store.use(names, ([l, sum, count, ipSum, ipCount, broker]) => {
      const avg = (a: Float64Array | null, c: Float64Array | null) => (a === null || c === null ? NaN : THROTTLE_TIME_WINDOWS.total(a, nowMs) / THROTTLE_TIME_WINDOWS.total(c, nowMs));
      return {
        acceptRate: l === null ? 0 : this.windows.rate(l, nowMs),
        throttleTimeMs: avg(sum, count),
        ipThrottleTimeMs: avg(ipSum, ipCount),
        brokerAcceptRate: broker === null ? 0 : this.windows.rate(broker, nowMs),
      };
    });
  }

  /**
   * Records a connection from `ip` (whose quota is `ipRate`, not unlimited) at `nowMs`; over the quota, takes it
   * back from the address's, the listener's and (unless protected) the broker's sensor and returns the throttle
   * time after which the connection is closed; else 0.
   */
  ipThrottleMs(listener: RateListener, ip: string, ipRate: number, nowMs: number): number {
    if (ipRate === CONNECTION_RATE_UNLIMITED) throw new Error(`no connection_creation_rate quota for ${ip}`);
    const n = listener.name;
    const own = [`ip:${ip}`, `ip-throttle-sum:${n}`, `ip-throttle-n:${n}`, `listener:${n}`];
    const names = listener.protected ? own : [...own, "broker"];
    return this.store.use(names, (states) => {
      const [s, throttleSum, throttleCount] = states;
      if (s === null) return 0;
      const throttle = this.windows.recordChecked(s, ipRate, nowMs, this.maxThrottleMs);
      if (throttle > 0) {
        // Kafka's updateListenerMetrics: the ip throttle recorded on the listener, the connection un-recorded
        this.windows.record(s, -1, nowMs);
        for (let i = 3; i < states.length; i++) if (states[i] !== null) this.windows.record(states[i]!, -1, nowMs);
        if (throttleSum !== null && throttleCount !== null) {
          THROTTLE_TIME_WINDOWS.record(throttleSum, throttle, nowMs);
          THROTTLE_TIME_WINDOWS.record(throttleCount, 1, nowMs);
        }
      }
      return throttle;
    });
  }
}
