/**
 * The Kafka listener: accepts connections within the connection limits ({@link ConnectionQuotas}), pausing the
 * listening socket at `max.connections` and resuming below it, and gives each connection the shared request
 * budget, deadlines and response encoder.
 */
import { listen, listenTls, type Listener } from "../platform/net.ts";
import type { ListenerSecurity } from "../security/listener-security.ts";
import type { ConnectionHandler } from "../platform/net.ts";
import type { Clock } from "../platform/clock.ts";
import type { BrokerConfig } from "./config.ts";
import type { ApiHandler } from "./api-handler.ts";
import { kafkaConnection, responseWriter, type ConnectionOptions } from "./connection.ts";
import { ConnectionQuotas, NodeConnectionQuotas, parsePerIpOverrides, type ConnectionCounts } from "./connection-quotas.ts";
import type { SharedKeyTable } from "../platform/shared-table.ts";
import { ConnectionTimeouts } from "./connection-timeouts.ts";
import { NodeRequestBudget, RequestBudget } from "./request-budget.ts";
import { FrameBufferPool } from "./frame-buffer-pool.ts";
import type { BrokerMetrics } from "../http/metrics/broker-metrics.ts";

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
  if (connectionFds === null) return configured;
  return Math.max(1, Math.min(configured, connectionFds));
}

/** Connection limits shared by every listener of a broker (`max.connections` and the request budget are broker-wide). */
export interface ListenerLimits {
  /** Open connections per address and in total. */
  readonly quotas: ConnectionCounts;
  /** In-flight requests and bytes. */
  readonly budget: RequestBudget;
  /** Every listener's pause (at the limit) and resume (below it again). */
  readonly members: Set<{ pause(): void; resume(): void }>;
}

/**
 * The broker-wide limits from the config (see {@link effectiveMaxConnections}); with `nodeConnections` (a sharded
 * node's table, src/broker/connection-quotas.ts) the connection limits count for the whole node, and with
 * `nodeBudget` (its shared buffer, src/broker/request-budget.ts) the request budget does.
 */
export function listenerLimits(config: BrokerConfig, connectionFds: number | null, nodeConnections?: SharedKeyTable, nodeBudget?: SharedArrayBuffer): ListenerLimits {
  const args = [effectiveMaxConnections(config, connectionFds), config.num("max.connections.per.ip"), parsePerIpOverrides(config.str("max.connections.per.ip.overrides"))] as const;
  return {
    quotas: nodeConnections === undefined ? new ConnectionQuotas(...args) : new NodeConnectionQuotas(...args, nodeConnections),
    budget: nodeBudget === undefined ? new RequestBudget(config.num("queued.max.requests"), config.num("queued.max.request.bytes")) : new NodeRequestBudget(nodeBudget, config.num("queued.max.requests"), config.num("queued.max.request.bytes")),
    members: new Set(),
  };
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
  const shared = limits ?? listenerLimits(config, connectionFds);
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
  let accepting = true;
  let listener: Listener | null = null;
  let stopped = false;
  const resume = () => {
    if (stopped || accepting) return;
    try {
      listener?.resumeAccepting();
      accepting = true;
      log("info", `below max.connections=${quotas.maxConnections} again: accepting`);
    } catch (e) {
      log("error", `could not listen again on ${host}:${listener?.port ?? port}: ${(e as Error).message}; retrying in 1 s`);
      clock.setTimer(resume, 1000);
    }
  };
  const pause = () => {
    if (stopped || !accepting) return;
    accepting = false;
    listener?.pauseAccepting();
    // logged once the listening socket is closed: from this line on, new connections to this thread are refused
    log("warn", `max.connections=${quotas.maxConnections} open connections: not accepting on ${host}:${listener?.port ?? port} until one closes`);
  };
  // Counts shared with other threads (a sharded node): every change of the node's fullness, in any thread, pauses
  // or resumes this listener too, so the whole node stops accepting at the limit and accepts again below it.
  const followNode = async (counts: NonNullable<ConnectionCounts["shared"]>) => {
    while (!stopped) {
      const seen = counts.changes();
      if (quotas.full()) pause();
      else resume();
      await counts.changedSince(seen);
    }
  };
  const member = { pause, resume };
  shared.members.add(member);
  const refused: ConnectionHandler = { onData() {}, onDrain() {}, onClose() {} };
  const tls = security?.tls ?? null;
  const onHandshakeError = (remote: string, message: string) => log("warn", `Failed authentication with ${remote} on listener ${security!.def.name} (SSL handshake failed: ${message})`);
  const serve = tls === null
    ? (h: string, p: number, on: Parameters<typeof listen>[2]) => listenPlain(h, p, on, { reusePort: front.reusePort ?? false })
    : (h: string, p: number, on: Parameters<typeof listen>[2]) => listenTls(h, p, { ...tls.server, onHandshakeError }, on, { reusePort: front.reusePort ?? false });
  listener = await serve(host, port, (conn) => {
    const over = quotas.admit(conn.remoteIp);
    if (over !== null) {
      log("warn", `refusing connection from ${conn.remote}: ${over} reached`);
      conn.close(false);
      return refused;
    }
    // At the broker-wide limit every listener stops accepting.
    if (quotas.full()) for (const m of shared.members) m.pause();
    const h = kafkaConnection(conn, options);
    return {
      onData: (c) => h.onData(c),
      onDrain: () => h.onDrain(),
      onClose() {
        h.onClose();
        quotas.release(conn.remoteIp);
        // A closed connection on any listener makes room for all of them.
        if (!quotas.full()) for (const m of shared.members) m.resume();
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
      quotas.shared?.wake();
      shared.members.delete(member);
      if (reloadTimer !== null) clock.clearTimer(reloadTimer);
      timeouts.stop();
      await listener!.close();
    },
  };
}
