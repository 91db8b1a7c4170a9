/**
 * The Kafka listener: accepts connections within the connection limits ({@link ConnectionQuotas}), pausing the
 * listening socket at `max.connections` or at its own `listener.name.<l>.max.connections` and resuming below it,
 * closing its least recently used connection while the broker holds more than `max.connections` (the inter-broker
 * listener took more), and gives each connection the shared request budget, deadlines and response encoder.
 * Connection creation rates (KIP-612, src/broker/connection-rate.ts) as Kafka's acceptor applies them: connections
 * are taken one after another; one over `max.connection.creation.rate` or the listener's own rate makes the listener
 * wait the throttle time before it serves that connection and takes the next (the ones behind it wait, unread, up
 * to {@link CONNECTIONS_WAITING_MAX}); then a connection over its address's `connection_creation_rate` quota is
 * left unserved and closed after its throttle time.
 */
import { listen, listenTls, type Listener } from "../platform/net.ts";
import type { ListenerSecurity } from "../security/listener-security.ts";
import type { ConnectionHandler } from "../platform/net.ts";
import type { Clock } from "../platform/clock.ts";
import type { BrokerConfig } from "./config.ts";
import type { ApiHandler } from "./api-handler.ts";
import { kafkaConnection, responseWriter, type ConnectionOptions, type KafkaConnectionHandler } from "./connection.ts";
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

/**
 * Connections a listener holds unserved while it waits out a connection creation rate throttle (Kafka leaves them in
 * the kernel's listen backlog, 1024 here too); more are closed at once.
 */
export const CONNECTIONS_WAITING_MAX = 1024;

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
  /** Pauses or resumes accepting, as the counts say now. */
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
  /** The limits the counts read (a listener names the one it is below again when it resumes). */
  readonly limitSource: ConfigLimitSource;
  /**
   * Re-judges whether the listeners must stop accepting, after a dynamic change of the limits: a raised
   * `max.connections` (or a listener's) resumes listeners paused at the old one, a lowered one pauses them and
   * closes connections over it (a sharded node's every thread re-judges on the table's wake).
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

/**
 * The broker-wide limits from the config (see {@link effectiveMaxConnections}); with `nodeConnections` (a sharded
 * node's table, src/broker/connection-quotas.ts) the connection limits count for the whole node, and with
 * `nodeBudget` (its shared buffer, src/broker/request-budget.ts) the request budget does.
 */
export function listenerLimits(config: BrokerConfig, connectionFds: number | null, nodeConnections?: SharedKeyTable, nodeBudget?: SharedArrayBuffer, rateSources: RateSources = {}, clock?: Clock, hosts?: OverrideHosts): ListenerLimits {
  const limitSource = connectionLimitsOf(config, connectionFds, hosts);
  const windows = connectionRateWindows(config);
  const monotonicMs = () => clock?.monotonicMs() ?? performance.now();
  const shared = rateSources.shared;
  const rateNowMs = shared === undefined ? () => Math.floor(monotonicMs()) : () => Math.floor(shared.originMs + monotonicMs());
  const store = shared === undefined ? new LocalRateSensors(windows, monotonicMs) : new SharedRateSensors(windows, shared.table, rateNowMs);
  const quotas: ConnectionCounts = nodeConnections === undefined ? new ConnectionQuotas(limitSource) : new NodeConnectionQuotas(limitSource, nodeConnections);
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
  let accepting = true;
  /** The limit the listener paused at (its resume line names it). */
  let pausedAt: FullAt = "broker";
  let listener: Listener | null = null;
  let stopped = false;
  const resume = () => {
    if (stopped || accepting) return;
    try {
      listener?.resumeAccepting();
      accepting = true;
      // a listener's own limit removed while it was paused: it resumed below max.connections
      const at = pausedAt === "listener" && shared.limitSource.listenerMaxConnections(slot.name) === null ? "broker" : pausedAt;
      log("info", `below ${fullAtText(shared.limitSource, slot, at)} again: accepting on ${host}:${listener?.port ?? port} (listener ${slot.name})`);
    } catch (e) {
      log("error", `could not listen again on ${host}:${listener?.port ?? port}: ${(e as Error).message}; retrying in 1 s`);
      clock.setTimer(resume, 1000);
    }
  };
  const pause = (at: FullAt) => {
    if (stopped || !accepting) return;
    accepting = false;
    pausedAt = at;
    listener?.pauseAccepting();
    // logged once the listening socket is closed: from this line on, new connections to this thread are refused
    log("warn", `${fullAtText(shared.limitSource, slot, at)} open connections: not accepting on ${host}:${listener?.port ?? port} (listener ${slot.name}) until one closes`);
  };
  const rejudge = () => {
    const full = quotas.fullFor(slot);
    if (full !== null) pause(full);
    else resume();
  };
  // Counts shared with other threads (a sharded node): every change of the node's counts, in any thread, pauses
  // or resumes this listener too, so the whole node stops accepting at a limit and accepts again below it, and
  // closes connections while it holds more than max.connections.
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
    /** The timer that closes it (its address was over its connection_creation_rate quota). */
    closeTimer: unknown;
    /** Paused (it waits to be served, or for its close). */
    paused: boolean;
  }
  const waiting: Taken[] = [];
  let waitTimer: unknown = null;
  const closeTimers = new Set<unknown>();
  // Throttles are logged at most once a second per listener (with how many were not), so a flood logs little.
  let rateLoggedMs = -Infinity;
  let rateUnlogged = 0;
  const rateLog = (now: number, line: string) => {
    if (now - rateLoggedMs < 1000) {
      rateUnlogged++;
      return;
    }
    log("info", rateUnlogged === 0 ? line : `${line} (and ${rateUnlogged} more throttles since the last such line)`);
    rateLoggedMs = now;
    rateUnlogged = 0;
  };
  /** Serves or refuses the waiting connections in order until one has to wait out a throttle. */
  const takeWaiting = () => {
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
      waiting.shift();
      serveTaken(t);
    }
  };
  const serveTaken = (t: Taken) => {
    const conn = t.conn;
    if (rateListener !== null) {
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
          return;
        }
      }
    }
    const over = quotas.admit(t.ip, slot);
    if (over !== null) {
      log("warn", `refusing connection from ${conn.remote}: ${over} reached`);
      t.early = [];
      conn.close(false);
      return;
    }
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
  };
  listener = await serve(host, port, (conn) => {
    if (waiting.length >= CONNECTIONS_WAITING_MAX) {
      log("warn", `refusing connection from ${conn.remote}: ${CONNECTIONS_WAITING_MAX} connections already wait for the connection creation rate`);
      conn.close(false);
      return refused;
    }
    const t: Taken = { conn, ip: canonicalIp(conn.remoteIp) ?? conn.remoteIp, handler: null, evicted: false, early: [], closed: false, waitUntil: -1, closeTimer: null, paused: false };
    waiting.push(t);
    takeWaiting();
    if (waiting[waiting.length - 1] === t) {
      // waits its turn unread (bytes that arrive all the same are kept)
      conn.pause();
      t.paused = true;
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
        if (h === null) return;
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
