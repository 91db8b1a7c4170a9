/**
 * The Kafka listener: serves connections within the connection limits ({@link ConnectionQuotas}) and gives each
 * the shared request budget, deadlines and response encoder. It never closes its listening socket. Connections are
 * taken in the order they were accepted, as Kafka's acceptor takes them, and wait, accepted and unread (no handler,
 * no idle timer, reads paused), in a queue of at most `socket.listen.backlog.size` (more are closed at once):
 * - while the listener is full, at `max.connections` or at its own `listener.name.<l>.max.connections` (Kafka's
 *   acceptor blocks in ConnectionQuotas.waitForConnectionSlot with the connections behind it in the kernel's listen
 *   backlog): a connection closing on any listener (on a sharded node, in any thread) serves the oldest waiting one;
 * - while the listener waits out a connection creation rate (KIP-612, src/broker/connection-rate.ts): a connection
 *   over `max.connection.creation.rate` or the listener's own rate is served only after the throttle time.
 * A connection from an address at its `max.connections.per.ip` is closed at once, when it arrives and again when
 * its turn comes; one over its address's `connection_creation_rate` quota is left unserved and closed after its
 * throttle time. While the broker holds more than `max.connections` (the inter-broker listener took more), the
 * least recently used connection closes.
 */
import { listen, listenTls, type Listener } from "../platform/net.ts";
import type { ListenerSecurity } from "../security/listener-security.ts";
import type { ConnectionHandler } from "../platform/net.ts";
import type { Clock } from "../platform/clock.ts";
import type { BrokerConfig } from "./config.ts";
import type { ApiHandler } from "./api-handler.ts";
import { kafkaConnection, responseWriter, type ConnectionOptions, type KafkaConnectionHandler } from "./connection.ts";
import { LISTEN_BACKLOG_MAX } from "./config.ts";
import { ConnectionQuotas, fullAtText, LISTENERS_MAX, listenerMaxConnectionsKey, NodeConnectionQuotas, parsePerIpOverrides, type ConnectionCounts, type ConnectionLimitSource, type FullAt, type ListenerSlot } from "./connection-quotas.ts";
import type { SharedKeyTable } from "../platform/shared-table.ts";
import { ConnectionTimeouts } from "./connection-timeouts.ts";
import { NodeRequestBudget, RequestBudget } from "./request-budget.ts";
import { FrameBufferPool } from "./frame-buffer-pool.ts";
import type { BrokerMetrics } from "../http/metrics/broker-metrics.ts";
import { CONNECTION_RATE_UNLIMITED, ConnectionRates, LocalRateSensors, RateWindows, SharedRateSensors, type RateListener } from "./connection-rate.ts";
import { interBrokerListenerName, listenerDefs } from "../security/listeners.ts";
import { canonicalIp, resolveHost } from "../platform/net.ts";
import type { Connection } from "../platform/net.ts";

/** Listens on host:port, calling back with each accepted connection (the platform's `listen`, or a simulated network). */
export type ListenFn = typeof listen;

/** What the front of a sharded node (src/shard/front) adds to a listener. */
export interface FrontListening {
  /** Told when a connection closed (the front closes that client's shard channels). */
  onConnectionClosed?: ConnectionOptions["onClosed"];
  /** Bind with SO_REUSEPORT, so the fronts of several threads share the port. */
  reusePort?: boolean;
  /** Free buffers for large frames, shared with the front's channels to its shards (default: the listener's own). */
  framePool?: FrameBufferPool;
  /** Follow each socket read's frames so that a read whose frames all go to shards can move with the last ({@link ConnectionOptions.followReads}). */
  followReads?: boolean;
  /** Told each time a followed read moved with its last frame. */
  onReadMoved?: () => void;
  /**
   * Show the node-wide connection rate gauges (accept rate, throttle times) on `metrics` (default true); off for
   * the fronts of a sharded node's shard threads, whose sensors the main front already shows.
   */
  nodeGauges?: boolean;
}

/** Log sink of the listener. */
export type ListenerLog = (level: "info" | "warn" | "error", msg: string) => void;

/** A running Kafka listener with its limits (exposed for tests and metrics). */
export interface KafkaListener {
  /** The platform listener. */
  readonly listener: Listener;
  /** Open connections per address and in total. */
  readonly quotas: ConnectionCounts;
  /** In-flight requests and bytes. */
  readonly budget: RequestBudget;
  /** Stops accepting, closes every connection and stops the timers. */
  close(): Promise<void>;
}

/**
 * The connection limit in force: `max.connections`, capped by the descriptors left for connections (`connectionFds`:
 * the open-files limit minus the reserve and the log files' share, `log.open.files.max`; null when unknown).
 */
export function effectiveMaxConnections(config: BrokerConfig, connectionFds: number | null): number {
  const configured = config.num("max.connections");
  // 0 (dynamic only: a static value is at least 1) accepts none, as Kafka's broker-wide limit of 0 does
  if (connectionFds === null || configured === 0) return configured;
  return Math.max(1, Math.min(configured, connectionFds));
}

/** How the limits resolve the host names of `max.connections.per.ip.overrides`, and where they report a failure. */
export interface OverrideHosts {
  /** The address a host name stands for (Kafka: InetAddress.getByName), or null (it resolves to none). */
  resolve: (host: string) => Promise<string | null>;
  /** Told when a changed override list keeps the previous one because a host name did not resolve. */
  warn: (msg: string) => void;
}

/** The connection limits of a broker's config, with the resolution of its overrides' host names. */
export interface ConfigLimitSource extends ConnectionLimitSource {
  /**
   * Settles once the host names of the override list in force at the call have resolved; rejects (naming the host)
   * if one did not, in which case the previous list stays in force (at start: none, and the broker does not start,
   * as Kafka's ConnectionQuotas fails on an UnknownHostException).
   */
  hostsResolved(): Promise<void>;
  /** Takes a changed `max.connections.per.ip.overrides` (a dynamic change): its host names start resolving now. */
  refresh(): void;
}

/**
 * `max.connections` (effective), each listener's `listener.name.<l>.max.connections`, `max.connections.per.ip` and
 * `max.connections.per.ip.overrides` as `config` holds them at each call: dynamic changes (KIP-226) reach
 * `config.values`, and the next connection is judged by them. `maxPerIp` takes the address in its
 * {@link canonicalIp} spelling; the overrides are keyed so too, an address however written (an IPv6 address in any
 * spelling, an IPv4-mapped one) being one address, as Kafka's InetAddress keys make it. A host name in the overrides
 * stands for the address it resolves to when the list is set (Kafka's InetAddress.getByName in
 * ConnectionQuotas.updateMaxConnectionsPerIpOverride): a list with host names takes effect once they have resolved,
 * and one that does not parse, or whose host name does not resolve, keeps the last list that did (a dynamic value is
 * checked before it is stored; Kafka's failed reconfiguration keeps the old map too).
 */
export function connectionLimitsOf(config: BrokerConfig, connectionFds: number | null, hosts: OverrideHosts = { resolve: resolveHost, warn: () => {} }): ConfigLimitSource {
  let overridesText: string | null = null;
  let overrides = new Map<string, number>();
  let resolving: Promise<void> = Promise.resolve();
  /** Takes the override list in `config` if it changed: literal addresses at once, host names once resolved. */
  const refresh = () => {
    const text = config.str("max.connections.per.ip.overrides");
    if (text === overridesText) return;
    overridesText = text;
    let parsed: Map<string, number>;
    try {
      parsed = parsePerIpOverrides(text);
    } catch {
      return; // keeps the previous overrides
    }
    const next = new Map<string, number>();
    const names: Array<[string, number]> = [];
    for (const [host, count] of parsed) {
      const ip = canonicalIp(host);
      if (ip !== null) next.set(ip, count);
      else names.push([host, count]);
    }
    if (names.length === 0) {
      overrides = next;
      resolving = Promise.resolve();
      return;
    }
    resolving = Promise.all(names.map(async ([host, count]) => {
      const ip = await hosts.resolve(host);
      if (ip === null) throw new Error(`max.connections.per.ip.overrides: host ${host} did not resolve to an address`);
      return [ip, count] as const;
    })).then((resolved) => {
      // a later change supersedes this one; an address given literally keeps its own count
      if (overridesText !== text) return;
      for (const [ip, count] of resolved) if (!next.has(ip)) next.set(ip, count);
      overrides = next;
    });
    resolving.catch((e) => {
      if (overridesText === text) hosts.warn(`${(e as Error).message}: keeping the previous overrides`);
    });
  };
  refresh();
  /** Each listener's own key, made once. */
  const listenerKeys = new Map<string, string>();
  return {
    maxConnections: () => effectiveMaxConnections(config, connectionFds),
    listenerMaxConnections: (listener) => {
      let key = listenerKeys.get(listener);
      if (key === undefined) listenerKeys.set(listener, (key = listenerMaxConnectionsKey(listener)));
      const own = config.values.get(key);
      return own === undefined ? null : Number(own);
    },
    connectionFds,
    maxPerIp: (ip) => {
      refresh();
      return overrides.get(ip) ?? config.num("max.connections.per.ip");
    },
    hostsResolved: () => resolving,
    refresh,
  };
}

/** One listener of a broker, as its limits see it. */
export interface ListenerMember {
  /** Its place, name and whether it is protected. */
  readonly slot: ListenerSlot;
  /** Notes whether it is full, as the counts say now, and serves its waiting connections while it is not. */
  rejudge(): void;
  /** Its least recently used served connection, or null (none open): when it was last active, and its close. */
  leastRecentlyUsed(): { lastActiveMs: number; evict(): void } | null;
}

/** Connection limits shared by every listener of a broker (`max.connections` and the request budget are broker-wide). */
export interface ListenerLimits {
  /** Open connections per address, per listener and in total. */
  readonly quotas: ConnectionCounts;
  /** In-flight requests and bytes. */
  readonly budget: RequestBudget;
  /** Every listener of this thread. */
  readonly members: Set<ListenerMember>;
  /** The limits the counts read (a listener names the one it is below again when it serves again). */
  readonly limitSource: ConfigLimitSource;
  /**
   * Re-judges whether the listeners are full, after a dynamic change of the limits: a raised `max.connections` (or
   * a listener's) serves the connections waiting at the old one, a lowered one holds new ones and closes
   * connections over it (a sharded node's every thread re-judges on the table's wake).
   */
  limitsChanged(): void;
  /**
   * Every listener re-judges, and while the broker holds more than `max.connections`, the least recently used
   * connections of the listeners that are not protected close, one per claim (Kafka's closeExcessConnections).
   */
  rejudge(): void;
  /** Connection creation rate sensors (broker, listeners, addresses). */
  readonly rates: ConnectionRates;
  /**
   * The time (whole ms) every call of `rates` is made at: the clock's monotonic time, or, with a sharded node's
   * shared table, that time from the epoch (this thread's monotonic origin plus its monotonic time), so that the
   * samples every accepting thread writes into one sensor compare.
   */
  readonly rateNowMs: () => number;
  /** The `connection_creation_rate` quota of an address in its {@link canonicalIp} spelling; unlimited when absent. */
  readonly ipRate: (ip: string) => number;
}

/** Where a broker's connection creation rates come from (see {@link listenerLimits}). */
export interface RateSources {
  /** The address quotas (ClientQuotaStore.connectionRateOf). */
  ipRate?: (ip: string) => number;
  /**
   * A sharded node's shared rate table (nodeConnectionRateTable) and this thread's monotonic origin in epoch ms, so
   * that every accepting thread's times compare.
   */
  shared?: { table: SharedKeyTable; originMs: number };
}

/** A sharded node's connection table as one accepting thread counts in it (see {@link NodeConnectionQuotas}). */
export interface NodeConnections {
  /** The node's table (nodeConnectionTable). */
  readonly table: SharedKeyTable;
  /** The version of the node's metadata store that this thread's config reflects now (its last applied change). */
  readonly configVersion: () => number;
}

/**
 * The broker-wide limits from the config (see {@link effectiveMaxConnections}); with `nodeConnections` (a sharded
 * node's table, src/broker/connection-quotas.ts) the connection limits count for the whole node, and with
 * `nodeBudget` (its shared buffer, src/broker/request-budget.ts) the request budget does.
 */
export function listenerLimits(config: BrokerConfig, connectionFds: number | null, nodeConnections?: NodeConnections, nodeBudget?: SharedArrayBuffer, rateSources: RateSources = {}, clock?: Clock, hosts?: OverrideHosts): ListenerLimits {
  const limitSource = connectionLimitsOf(config, connectionFds, hosts);
  const windows = connectionRateWindows(config);
  const monotonicMs = () => clock?.monotonicMs() ?? performance.now();
  const shared = rateSources.shared;
  const rateNowMs = shared === undefined ? () => Math.floor(monotonicMs()) : () => Math.floor(shared.originMs + monotonicMs());
  const store = shared === undefined ? new LocalRateSensors(windows, monotonicMs) : new SharedRateSensors(windows, shared.table, rateNowMs);
  const quotas: ConnectionCounts = nodeConnections === undefined ? new ConnectionQuotas(limitSource) : new NodeConnectionQuotas(limitSource, nodeConnections.table, nodeConnections.configVersion);
  const members = new Set<ListenerMember>();
  // Claims only with a connection to close: a thread without one (a sharded node's) leaves the claims to the others.
  // The counts are checked first, so an accept or a close within the limit does not walk the connections.
  const closeExcess = () => {
    while (quotas.overLimit()) {
      let lru: ReturnType<ListenerMember["leastRecentlyUsed"]> = null;
      for (const m of members) {
        if (m.slot.protected) continue;
        const c = m.leastRecentlyUsed();
        if (c !== null && (lru === null || c.lastActiveMs < lru.lastActiveMs)) lru = c;
      }
      if (lru === null || !quotas.claimEviction()) return;
      lru.evict();
    }
  };
  const rejudge = () => {
    for (const m of members) m.rejudge();
    closeExcess();
  };
  return {
    rates: new ConnectionRates(windows, store),
    rateNowMs,
    ipRate: rateSources.ipRate ?? (() => CONNECTION_RATE_UNLIMITED),
    quotas,
    limitSource,
    budget: nodeBudget === undefined ? new RequestBudget(config.num("queued.max.requests"), config.num("queued.max.request.bytes")) : new NodeRequestBudget(nodeBudget, config.num("queued.max.requests"), config.num("queued.max.request.bytes")),
    members,
    limitsChanged: () => {
      limitSource.refresh();
      quotas.limitsChanged();
      if (quotas.shared !== undefined) quotas.shared.wake();
      else rejudge();
    },
    rejudge,
  };
}

/** The sample windows of connection creation rates: `quota.window.num` of `quota.window.size.seconds` (Kafka's). */
export function connectionRateWindows(config: BrokerConfig): RateWindows {
  return new RateWindows(config.num("quota.window.num"), config.num("quota.window.size.seconds") * 1000);
}

/**
 * A listener's `max.connection.creation.rate`: its `listener.name.<l>.` setting (`scopedKey`), else the broker's
 * (read live).
 */
function listenerConnectionRate(config: BrokerConfig, scopedKey: string): number {
  const scoped = config.values.get(scopedKey);
  return scoped !== undefined ? Number(scoped) : config.num("max.connection.creation.rate");
}

/** Listens on host:port and serves Kafka connections with `handlers`. */
export async function startKafkaListener(
  host: string,
  port: number,
  config: BrokerConfig,
  handlers: ReadonlyArray<ApiHandler | undefined>,
  clock: Clock,
  log: ListenerLog,
  connectionFds: number | null,
  metrics?: BrokerMetrics,
  security?: ListenerSecurity,
  limits?: ListenerLimits,
  listenPlain: ListenFn = listen,
  front: FrontListening = {},
): Promise<KafkaListener> {
  const shared = limits ?? listenerLimits(config, connectionFds, undefined, undefined, {}, clock);
  const { quotas, budget } = shared;
  const timeouts = new ConnectionTimeouts(clock, config.num("connections.max.idle.ms"), config.num("socket.request.read.timeout.ms"));
  const writer = responseWriter();
  const options = {
    handlers,
    maxRequestBytes: config.num("socket.request.max.bytes"),
    maxInFlight: config.num("queued.max.requests.per.connection"),
    budget,
    timeouts,
    writer,
    monotonicMs: () => clock.monotonicMs(),
    log,
    metrics,
    security: security === undefined ? undefined : (c: Parameters<ListenerSecurity["session"]>[0]) => security.session(c),
    setTimer: (fn: () => void, ms: number) => clock.setTimer(fn, ms),
    onClosed: front.onConnectionClosed,
    framePool: front.framePool ?? new FrameBufferPool(),
    followReads: front.followReads ?? false,
    onReadMoved: front.onReadMoved,
  };
  const defs = listenerDefs(config);
  const slotName = security?.def.name ?? defs[0].name;
  const slot: ListenerSlot = { index: defs.findIndex((d) => d.name === slotName), name: slotName, protected: slotName === interBrokerListenerName(config) && defs.length > 1 };
  if (!(slot.index >= 0 && slot.index < LISTENERS_MAX)) throw new Error(`listener ${slotName}: one of at most ${LISTENERS_MAX} listeners expected, index ${slot.index}`);
  /** `socket.listen.backlog.size`: the most connections waiting unserved (each holds a descriptor). */
  const backlog = config.num("socket.listen.backlog.size");
  if (!(Number.isInteger(backlog) && backlog >= 1 && backlog <= LISTEN_BACKLOG_MAX)) throw new Error(`socket.listen.backlog.size must be 1 to ${LISTEN_BACKLOG_MAX}, got ${backlog}`);
  /** The limit the listener is full at (its connections wait), or null while it serves new connections. */
  let fullNow: FullAt | null = null;
  let listener: Listener | null = null;
  let stopped = false;
  const where = () => `${host}:${listener?.port ?? port} (listener ${slot.name})`;
  /** Notes (and logs) whether the listener is full: true while it may serve a connection. */
  const noteFull = (at: FullAt | null): boolean => {
    if (at !== null && fullNow === null && !stopped) {
      log("warn", `${fullAtText(shared.limitSource, slot, at)} open connections: new connections to ${where()} wait, accepted and unread, until one closes (at most socket.listen.backlog.size=${backlog}; more are closed)`);
    } else if (at === null && fullNow !== null && !stopped) {
      // names the limit it was full at: a listener's own (unless removed meanwhile), or the broker-wide one as it is now
      const was = fullNow === "listener" && shared.limitSource.listenerMaxConnections(slot.name) === null ? "broker" : fullNow;
      log("info", `below ${fullAtText(shared.limitSource, slot, was)} again: serving new connections on ${where()}${waiting.length > 0 ? `, ${waiting.length} waiting first` : ""}`);
    }
    fullNow = at;
    return at === null;
  };
  const rejudge = () => {
    if (noteFull(quotas.fullFor(slot))) takeWaiting();
  };
  // Counts shared with other threads (a sharded node): every change of the node's counts, in any thread, makes this
  // listener re-judge too, so a connection closing in any thread serves the waiting ones of every thread, and the
  // node closes connections while it holds more than max.connections.
  const followNode = async (counts: NonNullable<ConnectionCounts["shared"]>) => {
    while (!stopped) {
      const seen = counts.changes();
      rejudge();
      shared.rejudge();
      await counts.changedSince(seen);
    }
  };
  /** The connections this listener serves (the least recently used one closes when the broker holds too many). */
  const served = new Set<Taken>();
  const member: ListenerMember = {
    slot,
    rejudge,
    leastRecentlyUsed: () => {
      let lru: Taken | null = null;
      let lruMs = Infinity;
      for (const t of served) {
        if (t.evicted) continue;
        const ms = t.handler!.lastActiveMs();
        if (ms < lruMs) {
          lru = t;
          lruMs = ms;
        }
      }
      if (lru === null) return null;
      const t = lru;
      return {
        lastActiveMs: lruMs,
        evict: () => {
          t.evicted = true;
          log("info", `closing connection ${t.conn.remote} on listener ${slot.name}, the least recently used: more than max.connections=${quotas.maxConnections} open connections`);
          t.conn.close(false);
        },
      };
    },
  };
  shared.members.add(member);
  /** The handler of a connection closed as it was accepted (nothing counted for it). */
  const refused: ConnectionHandler = { onData() {}, onDrain() {}, onClose() {} };
  const tls = security?.tls ?? null;
  const onHandshakeError = (remote: string, message: string) => log("warn", `Failed authentication with ${remote} on listener ${security!.def.name} (SSL handshake failed: ${message})`);
  const serve = tls === null
    ? (h: string, p: number, on: Parameters<typeof listen>[2]) => listenPlain(h, p, on, { reusePort: front.reusePort ?? false })
    : (h: string, p: number, on: Parameters<typeof listen>[2]) => listenTls(h, p, { ...tls.server, onHandshakeError }, on, { reusePort: front.reusePort ?? false });
  // Connection creation rates (KIP-612): the sensors this listener records into, the connections accepted but not
  // served yet (in order; the first may be waiting out a throttle) and the timers of throttled addresses' closes.
  const rateListener: RateListener | null = security === undefined ? null : { name: security.def.name, protected: security.def.name === interBrokerListenerName(config) && listenerDefs(config).length > 1 };
  const listenerRateKey = `listener.name.${security?.def.name.toLowerCase()}.max.connection.creation.rate`;
  const { rates, ipRate, rateNowMs } = shared;
  if (metrics !== undefined && rateListener !== null && (front.nodeGauges ?? true)) metrics.acceptGauges.set(rateListener.name, () => rates.measure(rateListener, rateNowMs()));
  /** A connection the listener took: served (`handler`) once its turn came, and no rate or limit refused it. */
  interface Taken {
    conn: Connection;
    /** Its descriptor is counted as held ({@link ConnectionCounts.hold}) until it is served or closed. */
    held: boolean;
    /** The client's address as the connection counts and overrides key it ({@link canonicalIp}). */
    ip: string;
    handler: KafkaConnectionHandler | null;
    /** Closed for a closing claimed while the broker held more than max.connections. */
    evicted: boolean;
    /** Bytes that arrived before it was served. */
    early: Uint8Array[];
    closed: boolean;
    /** Monotonic ms until which the listener waits before serving it (a rate throttle), or -1 before it is recorded. */
    waitUntil: number;
    /** Its address's `connection_creation_rate` was checked (once, even if it waits for a slot after). */
    ipRated: boolean;
    /** The timer that closes it (its address was over its connection_creation_rate quota). */
    closeTimer: unknown;
    /** Paused (it waits to be served, or for its close). */
    paused: boolean;
  }
  const waiting: Taken[] = [];
  let waitTimer: unknown = null;
  const closeTimers = new Set<unknown>();
  // Throttles, held and closed connections are logged at most once a second per listener (with how many were not),
  // so a flood logs little.
  const rateLog = onceASecond(log, "info", "throttles");
  const heldLog = onceASecond(log, "info", "connections held");
  const closedLog = onceASecond(log, "warn", "connections closed");
  /** Whether {@link takeWaiting} runs (serving a connection re-judges every listener, this one too). */
  let taking = false;
  /** Serves or refuses the waiting connections in order until one has to wait out a throttle or for a slot. */
  const takeWaiting = () => {
    if (taking) return;
    taking = true;
    try {
      takeInOrder();
    } finally {
      taking = false;
    }
  };
  /** Monotonic ms since which the oldest waiting connection has waited for a slot, or -1. */
  let slotBlockedFrom = -1;
  /** Ends a wait for a slot: Kafka's AcceptorBlockedPercent counts it as the acceptor's blocked time. */
  const slotUnblocked = () => {
    if (slotBlockedFrom < 0) return;
    if (metrics !== undefined && rateListener !== null) metrics.acceptorBlocked(rateListener.name, clock.monotonicMs() - slotBlockedFrom);
    slotBlockedFrom = -1;
  };
  const takeInOrder = () => {
    while (waiting.length > 0 && waitTimer === null && !stopped) {
      const t = waiting[0];
      if (t.closed) {
        waiting.shift();
        continue;
      }
      if (rateListener !== null) {
        const now = rateNowMs();
        if (t.waitUntil < 0) {
          const delay = rates.acceptDelayMs(rateListener, config.num("max.connection.creation.rate"), listenerConnectionRate(config, listenerRateKey), now);
          t.waitUntil = now + delay;
          if (delay > 0) rateLog(now, `listener ${rateListener.name}: over ${rates.listenerThrottled ? listenerRateKey : "max.connection.creation.rate"}, waiting ${delay} ms before serving ${t.conn.remote} and taking the next connection`);
        }
        if (now < t.waitUntil) {
          const blockedFrom = clock.monotonicMs();
          waitTimer = clock.setTimer(() => {
            waitTimer = null;
            // Kafka's AcceptorBlockedPercent meter: the time the listener waited before taking the next connection
            if (metrics !== undefined) metrics.acceptorBlocked(rateListener.name, clock.monotonicMs() - blockedFrom);
            takeWaiting();
          }, t.waitUntil - now);
          return;
        }
      }
      // Kafka's waitForConnectionSlot: the oldest waits while the listener is full, and the others behind it (looked
      // at again only when it was full: admit judges atomically, so a listener another thread filled is seen there)
      let free = fullNow === null || noteFull(quotas.fullFor(slot));
      if (free) {
        waiting.shift();
        free = serveTaken(t);
        // false: another thread of a sharded node took the last slot first; it waits on at the head
        if (!free) waiting.unshift(t);
      }
      if (!free) {
        if (slotBlockedFrom < 0) slotBlockedFrom = clock.monotonicMs();
        return;
      }
      slotUnblocked();
    }
    slotUnblocked();
  };
  /** Serves `t`, or closes it (now, or after an address's rate throttle): false when it must wait for a slot still. */
  const serveTaken = (t: Taken): boolean => {
    const conn = t.conn;
    if (rateListener !== null && !t.ipRated) {
      t.ipRated = true;
      const quota = ipRate(t.ip);
      if (quota !== CONNECTION_RATE_UNLIMITED) {
        const ip = t.ip;
        const now = rateNowMs();
        const throttle = rates.ipThrottleMs(rateListener, ip, quota, now);
        if (throttle > 0) {
          // Kafka's ConnectionThrottledException: not served, closed after the throttle time
          rateLog(now, `throttling connection from ${conn.remote}: over connection_creation_rate=${quota} of ${ip}, closing it unserved in ${throttle} ms`);
          const timer = clock.setTimer(() => {
            closeTimers.delete(timer);
            conn.close(false);
          }, throttle);
          closeTimers.add(timer);
          t.closeTimer = timer;
          t.early = [];
          if (!t.paused) conn.pause();
          t.paused = true;
          return true;
        }
      }
    }
    const over = quotas.admit(t.ip, slot);
    if (over !== null) {
      if (over.waitsAt !== null) {
        noteFull(over.waitsAt);
        return false;
      }
      log("warn", `refusing connection from ${conn.remote}: ${over.limit} reached`);
      t.early = [];
      // its descriptor is given back here, not in onClose: closed while the listener accepts it (Bun's open
      // callback), a connection is never told it closed
      giveBackHeld(t);
      conn.close(false);
      return true;
    }
    t.held = false;
    const h = kafkaConnection(conn, options);
    t.handler = h;
    served.add(t);
    // At the broker-wide limit every listener but a protected one stops accepting, at its own limit this one; over
    // the broker-wide limit (a protected listener's connection), others' least recently used connections close.
    shared.rejudge();
    const early = t.early;
    t.early = [];
    if (t.paused) conn.resume();
    t.paused = false;
    for (const chunk of early) h.onData(chunk);
    return true;
  };
  /** Gives back the descriptor a connection held unserved (once: it is served, or closed, only once). */
  const giveBackHeld = (t: Taken) => {
    if (t.held) quotas.drop();
    t.held = false;
  };
  /** Closes a connection as it is accepted (nothing counted), logging why at most once a second. */
  const closeAtOnce = (conn: Connection, why: string): ConnectionHandler => {
    closedLog(clock.monotonicMs(), `closing connection from ${conn.remote} on listener ${slot.name} at once: ${why}`);
    conn.close(false);
    return refused;
  };
  listener = await serve(host, port, (conn) => {
    if (stopped) return closeAtOnce(conn, "the listener is closing");
    if (waiting.length >= backlog) return closeAtOnce(conn, `socket.listen.backlog.size=${backlog} connections already wait${fullNow === null ? "" : ` (${fullAtText(shared.limitSource, slot, fullNow)} open connections)`}`);
    const ip = canonicalIp(conn.remoteIp) ?? conn.remoteIp;
    // an address at its limit is refused even while the listener is full (Kafka checks it once the slot is free);
    // otherwise admit checks it as it counts the connection
    if (fullNow !== null && quotas.atPerIpLimit(ip)) {
      log("warn", `refusing connection from ${conn.remote}: max.connections.per.ip reached`);
      conn.close(false);
      return refused;
    }
    if (!quotas.hold()) return closeAtOnce(conn, `the connections hold every descriptor left for them (${shared.limitSource.connectionFds}: the open-files limit less the reserve and log.open.files.max)`);
    const t: Taken = { conn, held: true, ip, handler: null, evicted: false, early: [], closed: false, waitUntil: -1, ipRated: false, closeTimer: null, paused: false };
    waiting.push(t);
    takeWaiting();
    if (waiting[waiting.length - 1] === t) {
      // waits its turn unread (bytes that arrive all the same are kept), with no idle timer: it is not served yet
      conn.pause();
      t.paused = true;
      if (fullNow !== null) heldLog(clock.monotonicMs(), `holding connection from ${conn.remote} on listener ${slot.name} unread: ${fullAtText(shared.limitSource, slot, fullNow)} open connections; ${waiting.length} waiting (at most socket.listen.backlog.size=${backlog})`);
    }
    return {
      onData(c) {
        if (t.handler !== null) t.handler.onData(c);
        else if (t.closeTimer === null && !t.closed) t.early.push(c.slice());
      },
      onDrain: () => t.handler?.onDrain(),
      onClose() {
        t.closed = true;
        if (t.closeTimer !== null) {
          clock.clearTimer(t.closeTimer);
          closeTimers.delete(t.closeTimer);
        }
        const h = t.handler;
        if (h === null) {
          giveBackHeld(t);
          // out of the queue at once, so it leaves room for another (at most socket.listen.backlog.size looked at)
          const at = waiting.indexOf(t);
          if (at > 0) waiting.splice(at, 1);
          return;
        }
        h.onClose();
        served.delete(t);
        quotas.release(t.ip, slot, t.evicted);
        // A closed connection on any listener makes room for all of them.
        shared.rejudge();
      },
    };
  });
  if (quotas.shared !== undefined) void followNode(quotas.shared);
  // TLS key material reload: the PEM files are read again every `ssl.reload.check.interval.ms`; changed and valid
  // material is used for new connections (a broken file is reported and the old material kept).
  let reloadTimer: unknown = null;
  if (tls !== null && security !== undefined) {
    let current = tls.server;
    let lastProblem = "";
    const check = () => {
      reloadTimer = null;
      if (stopped) return;
      try {
        const next = security.rereadTls().server;
        lastProblem = "";
        if (next.key !== current.key || next.cert !== current.cert || next.ca !== current.ca || next.passphrase !== current.passphrase) {
          listener!.updateTls?.({ ...next, onHandshakeError });
          current = next;
          log("info", `listener ${security.def.name}: reloaded the TLS key and certificates`);
        }
      } catch (e) {
        const problem = (e as Error).message;
        if (problem !== lastProblem) log("warn", `listener ${security.def.name}: keeping the current TLS material: ${problem}`);
        lastProblem = problem;
      }
      reloadTimer = clock.setTimer(check, config.num("ssl.reload.check.interval.ms"));
    };
    reloadTimer = clock.setTimer(check, config.num("ssl.reload.check.interval.ms"));
  }
  return {
    listener,
    quotas,
    budget,
    async close() {
      stopped = true;
      if (waitTimer !== null) clock.clearTimer(waitTimer);
      for (const timer of closeTimers) clock.clearTimer(timer);
      closeTimers.clear();
      for (const t of waiting.splice(0)) if (!t.closed) t.conn.close(false);
      quotas.shared?.wake();
      shared.members.delete(member);
      if (reloadTimer !== null) clock.clearTimer(reloadTimer);
      timeouts.stop();
      await listener!.close();
    },
  };
}

/**
 * A log line at most once a second (by the monotonic ms given): the lines in between are counted, and the next line
 * says how many `what` it left out.
 */
function onceASecond(log: ListenerLog, level: "info" | "warn", what: string): (nowMs: number, line: string) => void {
  let loggedMs = -Infinity;
  let unlogged = 0;
  return (nowMs, line) => {
    if (nowMs - loggedMs < 1000) {
      unlogged++;
      return;
    }
    log(level, unlogged === 0 ? line : `${line} (and ${unlogged} more ${what} since the last such line)`);
    loggedMs = nowMs;
    unlogged = 0;
  };
}
