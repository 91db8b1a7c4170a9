/**
 * Connection limits under Kafka's names and meanings:
 * - `max.connections`: at the limit the listener keeps accepting, but serves no new connection: each one waits,
 *   accepted and unread, until a connection closes (Kafka's acceptor blocks in waitForConnectionSlot with the
 *   connections behind it in the listen backlog; src/broker/kafka-listener.ts keeps them in a queue bounded by
 *   `socket.listen.backlog.size`). The limit is also capped by the descriptors the open-files limit leaves after
 *   the log files' share (`log.open.files.max`), and every accepted connection, served or waiting, holds one of
 *   those descriptors ({@link ConnectionCounts.hold}): one beyond them is closed at once, so the broker never runs
 *   out of descriptors.
 * - `max.connections.per.ip` and `max.connections.per.ip.overrides` (`host:count,host:count`): a connection over
 *   its address's limit is accepted and closed at once, as Kafka does.
 * - `listener.name.<listener>.max.connections` (KIP-402): the same wait for that listener alone, by its own count.
 *   A listener without one takes `max.connections` as its own limit too (Kafka's ListenerConnectionQuota is
 *   configured with the listener-prefixed values over the broker's).
 * - The inter-broker listener of a broker with several listeners (Kafka's protected listener) is not held by the
 *   broker-wide `max.connections`, only by its own limit; once the broker holds more than `max.connections`, the
 *   least recently used connections of the other listeners are closed until it holds no more
 *   ({@link ConnectionCounts.claimEviction}; Kafka's ConnectionQuotas.maxConnectionsExceeded and
 *   Processor.closeExcessConnections, which also close connections over a lowered limit).
 * On a sharded node every accepting thread counts in one node-wide table ({@link NodeConnectionQuotas}), so the
 * limits hold for the node as one broker, whichever thread the kernel gave a connection.
 * The limits are read at each use ({@link ConnectionLimitSource}), so a dynamic change (KIP-226) applies to the next
 * connection, as Kafka's ConnectionQuotas.updateMaxConnectionsPerIp / updateBrokerMaxConnections do; connections
 * already open stay.
 */
import { SharedKeyTable } from "../platform/shared-table.ts";

/** The characters Kafka allows in a host of `max.connections.per.ip.overrides` (its Utils.validHostPattern). */
const VALID_HOST = /^[0-9a-zA-Z\-%._:]*$/;

/**
 * Parses `max.connections.per.ip.overrides` (`host:count` pairs, comma separated; a host is an address or a host
 * name). A host with other characters than Kafka's host pattern allows is refused with Kafka's message.
 */
export function parsePerIpOverrides(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const at = part.lastIndexOf(":");
    const host = part.slice(0, at).trim();
    const count = part.slice(at + 1).trim();
    if (at <= 0 || !/^\d+$/.test(count)) throw new Error(`max.connections.per.ip.overrides: '${part}' is not host:count`);
    out.set(host, Number(count));
  }
  const invalid = [...out.keys()].filter((host) => !VALID_HOST.test(host));
  if (invalid.length > 0) throw new Error(`max.connections.per.ip.overrides contains invalid addresses : ${invalid.join(",")}`);
  return out;
}

/** Where the connection limits come from: read at each use, so that a dynamic config change applies at once. */
export interface ConnectionLimitSource {
  /** The effective `max.connections` now (0, accepting none, only dynamically and when every listener has a limit of its own, as Kafka allows it). */
  maxConnections(): number;
  /** The listener's own `listener.name.<listener>.max.connections` now, or null (it takes `max.connections`). */
  listenerMaxConnections(listener: string): number | null;
  /** The most open connections `ip` may have now: its `max.connections.per.ip.overrides` entry, else `max.connections.per.ip`. */
  maxPerIp(ip: string): number;
  /**
   * The descriptors the open-files limit leaves for connections, served and waiting together (the limit less the
   * reserve and the log files' share, `log.open.files.max`); null when the limit is unknown.
   */
  readonly connectionFds: number | null;
}

/** Why a connection was not counted by {@link ConnectionCounts.admit}: the limit, and whether it may wait for a slot. */
export interface AdmitRefusal {
  /** The limit and its value, for the log ("max.connections=3", "max.connections.per.ip"). */
  readonly limit: string;
  /**
   * The limit at which the listener or the broker is full (Kafka's connectionSlotAvailable is false): the
   * connection waits for a slot. Null: a limit of its address refuses it, and it is closed (Kafka's
   * TooManyConnectionsException).
   */
  readonly waitsAt: FullAt | null;
}

/** `max.connections.per.ip` when no address has a limit of its own (Integer.MAX_VALUE: no limit). */
export const CONNECTIONS_PER_IP_UNLIMITED = 2147483647;

/** A listener's own `max.connections` key (KIP-402; Kafka's listener prefix is the lower-case name). */
export function listenerMaxConnectionsKey(listener: string): string {
  return `listener.name.${listener.toLowerCase()}.max.connections`;
}

/** Listeners a broker may have (a sharded node's table keeps a count for each). */
export const LISTENERS_MAX = 16;

/** A listener as the connection counts see it. */
export interface ListenerSlot {
  /** Its place among the broker's listeners (`listeners` order), below {@link LISTENERS_MAX}: its count's index. */
  readonly index: number;
  /** Its name as `listeners` gives it (upper case). */
  readonly name: string;
  /**
   * Kafka's protected listener: the inter-broker listener of a broker with several. The broker-wide
   * `max.connections` does not stop it; its connections over that limit close other listeners' connections.
   */
  readonly protected: boolean;
}

/** The connection counts a listener admits against (one broker's, or a whole sharded node's). */
export interface ConnectionCounts {
  /** The effective `max.connections`. */
  readonly maxConnections: number;
  /** Open connections. */
  readonly total: number;
  /** Open connections of one listener. */
  listenerTotal(l: ListenerSlot): number;
  /**
   * Counts an accepted connection's descriptor until it is served or closed: false (nothing counted) when the
   * connections, served and waiting, already hold every descriptor left for them ({@link ConnectionLimitSource.connectionFds}).
   */
  hold(): boolean;
  /** Forgets a held connection that closed unserved. */
  drop(): void;
  /** Whether `ip` is at its address's limit now (checked at accept, before the connection waits for a slot). */
  atPerIpLimit(ip: string): boolean;
  /**
   * Counts a held connection from `ip` as served on `l` (it holds its descriptor on); null, or (nothing counted,
   * still held) the limit that keeps it out: the listener's or the broker's (it waits), or its address's.
   */
  admit(ip: string, l: ListenerSlot): AdmitRefusal | null;
  /** Forgets a closed connection from `ip` on `l`; `evicted`: it was closed for a claim of {@link claimEviction}. */
  release(ip: string, l: ListenerSlot, evicted: boolean): void;
  /** The limit at which `l` must stop accepting now, or null while it may accept. */
  fullFor(l: ListenerSlot): FullAt | null;
  /**
   * Claims the closing of one connection of a listener that is not protected, while the open connections exceed
   * `max.connections` by more than the closings already claimed (Kafka's maxConnectionsExceeded). Only a thread
   * with such a connection claims; it closes it and releases it with `evicted`.
   */
  claimEviction(): boolean;
  /** Whether the open connections exceed `max.connections` by more than the closings already claimed. */
  overLimit(): boolean;
  /** The limits were changed (a dynamic config): a sharded node's table takes this thread's `max.connections`. */
  limitsChanged(): void;
  /**
   * Counts shared with other threads: a counter of changes of the counts' state and a wait for the next
   * change after it, so every thread's listeners pause when the node is full and resume when a connection closes in
   * any thread; `wake` ends every such wait (a listener closing).
   */
  readonly shared?: { changes(): number; changedSince(seen: number): Promise<void>; wake(): void };
}

/**
 * The limit a listener stopped at: "broker", `max.connections` (a listener without a limit of its own, or any but a
 * protected listener once the broker is full), or "listener", its own `listener.name.<l>.max.connections`.
 */
export type FullAt = "broker" | "listener";

/** The limit at which listener `l` must stop accepting, given the counts and limits (Kafka's ConnectionQuotas.connectionSlotAvailable, negated). */
function fullAt(limits: ConnectionLimitSource, l: ListenerSlot, total: number, listenerTotal: number): FullAt | null {
  const max = assertMaxConnections(limits.maxConnections());
  if (!l.protected && total >= max) return "broker";
  const own = limits.listenerMaxConnections(l.name);
  if (listenerTotal < (own ?? max)) return null;
  return own === null ? "broker" : "listener";
}

/** The limit `at` of listener `l` with its value now, as the log names it (`max.connections=N`, or the listener's own key). */
export function fullAtText(limits: ConnectionLimitSource, l: ListenerSlot, at: FullAt): string {
  return at === "broker" ? `max.connections=${assertMaxConnections(limits.maxConnections())}` : `${listenerMaxConnectionsKey(l.name)}=${limits.listenerMaxConnections(l.name)}`;
}

/** Descriptors of connections when the open-files limit is unknown: no bound of their own. */
const FDS_UNBOUNDED = Number.MAX_SAFE_INTEGER;

/** Counts open connections per address, per listener and in total. */
export class ConnectionQuotas implements ConnectionCounts {
  private readonly perIp = new Map<string, number>();
  private readonly perListener = new Array<number>(LISTENERS_MAX).fill(0);
  /** Closings claimed and not yet released. */
  private evicting = 0;
  /** Accepted connections not served yet (they hold descriptors). */
  private held = 0;
  /** Open connections. */
  total = 0;

  /** @param limits `max.connections` (effective), the listeners' own, `max.connections.per.ip` and its overrides, read at each use. */
  constructor(private readonly limits: ConnectionLimitSource) {
    assertMaxConnections(limits.maxConnections());
  }

  /** The effective `max.connections` now. */
  get maxConnections(): number {
    return assertMaxConnections(this.limits.maxConnections());
  }

  listenerTotal(l: ListenerSlot): number {
    return this.perListener[assertSlot(l)];
  }

  hold(): boolean {
    if (this.total + this.held >= (this.limits.connectionFds ?? FDS_UNBOUNDED)) return false;
    this.held++;
    return true;
  }

  drop(): void {
    if (this.held <= 0) throw new Error("a waiting connection dropped with none held");
    this.held--;
  }

  atPerIpLimit(ip: string): boolean {
    return (this.perIp.get(ip) ?? 0) >= this.limits.maxPerIp(ip);
  }

  /** Counts a held connection from `ip` as served; the listener's or broker's limit, or "max.connections.per.ip", when one keeps it out. */
  admit(ip: string, l: ListenerSlot): AdmitRefusal | null {
    if (this.held <= 0) throw new Error(`connection from ${ip} admitted on ${l.name} with none held`);
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.limits.maxPerIp(ip)) return PER_IP_REFUSAL;
    const full = this.fullFor(l);
    if (full !== null) return { limit: fullAtText(this.limits, l, full), waitsAt: full };
    this.perIp.set(ip, n + 1);
    this.perListener[assertSlot(l)]++;
    this.total++;
    this.held--;
    return null;
  }

  release(ip: string, l: ListenerSlot, evicted: boolean): void {
    const n = this.perIp.get(ip);
    const i = assertSlot(l);
    if (n === undefined || this.total <= 0 || this.perListener[i] <= 0) throw new Error(`connection quota released for ${ip} on ${l.name} that holds none`);
    if (evicted && this.evicting <= 0) throw new Error(`an evicted connection from ${ip} released with no closing claimed`);
    if (n === 1) this.perIp.delete(ip);
    else this.perIp.set(ip, n - 1);
    this.perListener[i]--;
    this.total--;
    if (evicted) this.evicting--;
  }

  fullFor(l: ListenerSlot): FullAt | null {
    return fullAt(this.limits, l, this.total, this.perListener[assertSlot(l)]);
  }

  claimEviction(): boolean {
    if (!this.overLimit()) return false;
    this.evicting++;
    return true;
  }

  overLimit(): boolean {
    return this.total - this.evicting > this.maxConnections;
  }

  limitsChanged(): void {}

}

/** The refusal of a connection over its address's limit. */
const PER_IP_REFUSAL: AdmitRefusal = { limit: "max.connections.per.ip", waitsAt: null };

/** `max.connections` is never negative: static values are checked at start (at least 1), dynamic ones when altered. */
function assertMaxConnections(n: number): number {
  if (!(n >= 0)) throw new Error(`max.connections must be at least 0, got ${n}`);
  return n;
}

/** A listener's index is within {@link LISTENERS_MAX}. */
function assertSlot(l: ListenerSlot): number {
  if (!(l.index >= 0 && l.index < LISTENERS_MAX)) throw new Error(`listener ${l.name} has index ${l.index}, not below ${LISTENERS_MAX}`);
  return l.index;
}

/** Client addresses with open connections a sharded node tracks. */
export const NODE_CONNECTION_ADDRESSES = 16_384;
/** Address characters kept exactly (an IPv6 address has at most 45). */
const ADDRESS_CHARS = 48;
/**
 * The node table's globals: the total, the closings claimed, the connections held unserved, the `max.connections`
 * of the newest config any thread applied and that config's metadata version, then each listener's count.
 */
const TOTAL = 0;
const EVICTING = 1;
const HELD = 2;
const NEWEST_MAX = 3;
const NEWEST_VERSION = 4;
const LISTENER_COUNTS = 5;

/** A new node-wide connection table for {@link NodeConnectionQuotas} (its buffer goes to every accepting thread). */
export function nodeConnectionTable(): SharedKeyTable {
  return SharedKeyTable.create({ slots: NODE_CONNECTION_ADDRESSES, keyChars: ADDRESS_CHARS, values: 1, globals: LISTENER_COUNTS + LISTENERS_MAX });
}

/**
 * The connection counts of a sharded node, in a table every accepting thread shares: the total, the closings
 * claimed, the connections held unserved, each listener's count (globals) and the open connections of each address
 * (up to {@link NODE_CONNECTION_ADDRESSES} addresses; past that, a connection from an address without a per-address
 * limit is counted in the totals only). A connection a thread takes while the node or the listener is full (another
 * thread may have filled it just before) waits in that thread's queue, and a connection closing in any thread wakes
 * every thread to serve its waiting ones.
 */
export class NodeConnectionQuotas implements ConnectionCounts {
  readonly shared: ConnectionCounts["shared"];

  /**
   * @param configVersion the version of the node's metadata store that this thread's config reflects now (the
   *   version of the last dynamic broker config change it applied, or the store's version when it merged them at
   *   start): every thread of the node sees one store, so one change has one version in every thread.
   */
  constructor(private readonly limits: ConnectionLimitSource, private readonly table: SharedKeyTable, private readonly configVersion: () => number) {
    assertMaxConnections(limits.maxConnections());
    this.shared = { changes: () => table.wakeCount(), changedSince: (seen) => table.changedSince(seen), wake: () => table.wake() };
    this.limitsChanged();
  }

  /**
   * Publishes this thread's `max.connections` as the node's newest, unless a thread already published the limit of
   * a newer config (a larger {@link configVersion}). Each thread follows dynamic configs on its own, so for a moment
   * after a change the threads disagree: one that has applied a raised limit serves a waiting connection while
   * another, still at the old limit, would see the node over it and close a connection. Closings are therefore
   * claimed only over the larger of the thread's own limit and the newest one published (a lowered limit closes
   * connections as soon as the thread that published it, and later every thread, judges them). The newest change
   * wins, not the last thread to apply one: after 100 -> 50 -> 200, a thread applying 50 late must not publish it
   * over 200.
   */
  limitsChanged(): void {
    const max = this.maxConnections;
    const version = this.configVersion();
    if (!(Number.isSafeInteger(version) && version >= 0)) throw new Error(`metadata version ${version} of a connection limit change is not a count`);
    const t = this.table;
    t.locked(() => {
      // the same version is the same config: every thread derives the same max.connections from it
      if (version < t.global(NEWEST_VERSION)) return;
      t.setGlobal(NEWEST_VERSION, version);
      t.setGlobal(NEWEST_MAX, max);
    });
  }

  /** The limit closings are claimed over (see {@link limitsChanged}); called within the table's lock. */
  private evictionLimit(): number {
    return Math.max(this.maxConnections, this.table.global(NEWEST_MAX));
  }

  /** The effective `max.connections` now. */
  get maxConnections(): number {
    return assertMaxConnections(this.limits.maxConnections());
  }

  get total(): number {
    return this.table.locked(() => this.table.global(TOTAL));
  }

  listenerTotal(l: ListenerSlot): number {
    const i = LISTENER_COUNTS + assertSlot(l);
    return this.table.locked(() => this.table.global(i));
  }

  hold(): boolean {
    const t = this.table;
    const fds = this.limits.connectionFds ?? FDS_UNBOUNDED;
    return t.locked(() => {
      const held = t.global(HELD);
      if (t.global(TOTAL) + held >= fds) return false;
      t.setGlobal(HELD, held + 1);
      return true;
    });
  }

  drop(): void {
    const t = this.table;
    t.locked(() => {
      const held = t.global(HELD);
      if (held <= 0) throw new Error("a waiting connection dropped with none held");
      t.setGlobal(HELD, held - 1);
    });
  }

  atPerIpLimit(ip: string): boolean {
    const perIp = this.limits.maxPerIp(ip);
    if (perIp >= CONNECTIONS_PER_IP_UNLIMITED) return false;
    const t = this.table;
    return t.locked(() => {
      const slot = t.find(ip, false);
      return (slot < 0 ? 0 : t.value(slot, 0)) >= perIp;
    });
  }

  admit(ip: string, l: ListenerSlot): AdmitRefusal | null {
    const t = this.table;
    const li = LISTENER_COUNTS + assertSlot(l);
    const over = t.locked((): AdmitRefusal | null => {
      const total = t.global(TOTAL);
      const held = t.global(HELD);
      if (held <= 0) throw new Error(`connection from ${ip} admitted on ${l.name} with none held`);
      // its address's limit first: a connection over it is closed, not held, full listener or not
      const perIp = this.limits.maxPerIp(ip);
      const slot = t.find(ip, true);
      const n = slot < 0 ? 0 : t.value(slot, 0);
      if (slot < 0 && perIp < CONNECTIONS_PER_IP_UNLIMITED) return { limit: `${NODE_CONNECTION_ADDRESSES} client addresses with open connections (the node's table is full)`, waitsAt: null };
      const full = n >= perIp ? null : fullAt(this.limits, l, total, t.global(li));
      if (n >= perIp || full !== null) {
        if (slot >= 0 && n === 0) t.remove(slot);
        return full === null ? PER_IP_REFUSAL : { limit: `${fullAtText(this.limits, l, full)} (node-wide)`, waitsAt: full };
      }
      if (slot >= 0) t.setValue(slot, 0, n + 1);
      t.setGlobal(TOTAL, total + 1);
      t.setGlobal(HELD, held - 1);
      t.setGlobal(li, t.global(li) + 1);
      return null;
    });
    // every thread re-judges: this listener may be full now, or (a protected listener) the node over its limit
    if (over === null && (this.fullFor(l) !== null || this.total > this.maxConnections)) t.wake();
    return over;
  }

  release(ip: string, l: ListenerSlot, evicted: boolean): void {
    const t = this.table;
    const li = LISTENER_COUNTS + assertSlot(l);
    const wasFull = t.locked(() => {
      const total = t.global(TOTAL);
      const full = total >= this.maxConnections || fullAt(this.limits, l, total, t.global(li)) !== null;
      if (total <= 0 || t.global(li) <= 0) throw new Error(`connection quota released for ${ip} on ${l.name} that holds none`);
      if (evicted && t.global(EVICTING) <= 0) throw new Error(`an evicted connection from ${ip} released with no closing claimed`);
      // an address admitted while the table was full has no entry: it was counted in the totals only
      const slot = t.find(ip, false);
      if (slot >= 0) {
        const n = t.value(slot, 0);
        if (n <= 1) t.remove(slot);
        else t.setValue(slot, 0, n - 1);
      }
      t.setGlobal(TOTAL, total - 1);
      t.setGlobal(li, t.global(li) - 1);
      if (evicted) t.setGlobal(EVICTING, t.global(EVICTING) - 1);
      return full;
    });
    if (wasFull) t.wake();
  }

  fullFor(l: ListenerSlot): FullAt | null {
    const t = this.table;
    const li = LISTENER_COUNTS + assertSlot(l);
    return t.locked(() => fullAt(this.limits, l, t.global(TOTAL), t.global(li)));
  }

  claimEviction(): boolean {
    const t = this.table;
    return t.locked(() => {
      if (t.global(TOTAL) - t.global(EVICTING) <= this.evictionLimit()) return false;
      t.setGlobal(EVICTING, t.global(EVICTING) + 1);
      return true;
    });
  }

  overLimit(): boolean {
    const t = this.table;
    return t.locked(() => t.global(TOTAL) - t.global(EVICTING) > this.evictionLimit());
  }
}
