/**
 * Connection limits under Kafka's names and meanings:
 * - `max.connections`: at the limit the listener stops accepting (new clients wait in the kernel's backlog or are
 *   refused) and resumes once a connection closes; it never accepts and spins. The limit is also capped by the
 *   descriptors the open-files limit leaves after the log files' share (`log.open.files.max`), so the broker never
 *   runs out of descriptors.
 * - `max.connections.per.ip` and `max.connections.per.ip.overrides` (`host:count,host:count`): a connection over
 *   its address's limit is accepted and closed at once, as Kafka does.
 * On a sharded node every accepting thread counts in one node-wide table ({@link NodeConnectionQuotas}), so the
 * limits hold for the node as one broker, whichever thread the kernel gave a connection.
 * The limits are read at each use ({@link ConnectionLimitSource}), so a dynamic change (KIP-226) applies to the next
 * connection, as Kafka's ConnectionQuotas.updateMaxConnectionsPerIp / updateBrokerMaxConnections do; connections
 * already open stay.
 */
import { SharedKeyTable } from "../platform/shared-table.ts";

/** Parses `max.connections.per.ip.overrides` (`host:count` pairs, comma separated). */
export function parsePerIpOverrides(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const at = part.lastIndexOf(":");
    const host = part.slice(0, at).trim();
    const count = part.slice(at + 1).trim();
    if (at <= 0 || !/^\d+$/.test(count)) throw new Error(`max.connections.per.ip.overrides: '${part}' is not host:count`);
    out.set(host, Number(count));
  }
  return out;
}

/** Where the connection limits come from: read at each use, so that a dynamic config change applies at once. */
export interface ConnectionLimitSource {
  /** The effective `max.connections` now (0: accept none, a dynamic value Kafka allows too). */
  maxConnections(): number;
  /** The most open connections `ip` may have now: its `max.connections.per.ip.overrides` entry, else `max.connections.per.ip`. */
  maxPerIp(ip: string): number;
}

/** `max.connections.per.ip` when no address has a limit of its own (Integer.MAX_VALUE: no limit). */
export const CONNECTIONS_PER_IP_UNLIMITED = 2147483647;

/** The connection counts a listener admits against (one broker's, or a whole sharded node's). */
export interface ConnectionCounts {
  /** The effective `max.connections`. */
  readonly maxConnections: number;
  /** Open connections. */
  readonly total: number;
  /** Counts a new connection from `ip`; null, or (nothing counted) the name of the limit that refuses it. */
  admit(ip: string): string | null;
  /** Forgets a closed connection from `ip`. */
  release(ip: string): void;
  /** Whether the listener must stop accepting. */
  full(): boolean;
  /**
   * Counts shared with other threads: a counter of changes of {@link ConnectionCounts.full} and a wait for the next
   * change after it, so every thread's listeners pause when the node is full and resume when a connection closes in
   * any thread; `wake` ends every such wait (a listener closing).
   */
  readonly shared?: { changes(): number; changedSince(seen: number): Promise<void>; wake(): void };
}

/** Counts open connections per address and in total. */
export class ConnectionQuotas implements ConnectionCounts {
  private readonly perIp = new Map<string, number>();
  /** Open connections. */
  total = 0;

  /** @param limits `max.connections` (effective), `max.connections.per.ip` and its overrides, read at each use. */
  constructor(private readonly limits: ConnectionLimitSource) {
    assertMaxConnections(limits.maxConnections());
  }

  /** The effective `max.connections` now. */
  get maxConnections(): number {
    return assertMaxConnections(this.limits.maxConnections());
  }

  /** Counts a new connection from `ip`; "max.connections.per.ip" (and nothing counted) when `ip` is at its limit. */
  admit(ip: string): string | null {
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.limits.maxPerIp(ip)) return "max.connections.per.ip";
    this.perIp.set(ip, n + 1);
    this.total++;
    return null;
  }

  /** Forgets a closed connection from `ip`. */
  release(ip: string): void {
    const n = this.perIp.get(ip);
    if (n === undefined || this.total <= 0) throw new Error(`connection quota released for ${ip} that holds none`);
    if (n === 1) this.perIp.delete(ip);
    else this.perIp.set(ip, n - 1);
    this.total--;
  }

  /** Whether the listener must stop accepting. */
  full(): boolean {
    return this.total >= this.maxConnections;
  }
}

/** `max.connections` is never negative: static values are checked at start (at least 1), dynamic ones when altered. */
function assertMaxConnections(n: number): number {
  if (!(n >= 0)) throw new Error(`max.connections must be at least 0, got ${n}`);
  return n;
}

/** Client addresses with open connections a sharded node tracks. */
export const NODE_CONNECTION_ADDRESSES = 16_384;
/** Address characters kept exactly (an IPv6 address has at most 45). */
const ADDRESS_CHARS = 48;

/** A new node-wide connection table for {@link NodeConnectionQuotas} (its buffer goes to every accepting thread). */
export function nodeConnectionTable(): SharedKeyTable {
  return SharedKeyTable.create({ slots: NODE_CONNECTION_ADDRESSES, keyChars: ADDRESS_CHARS, values: 1, globals: 1 });
}

/**
 * The connection counts of a sharded node, in a table every accepting thread shares: the total (global 0) and the
 * open connections of each address (up to {@link NODE_CONNECTION_ADDRESSES} addresses; past that, a connection from
 * an address without a per-address limit is counted in the total only). A thread that accepts a connection over a
 * limit closes it at once (another thread may have filled the node just before).
 */
export class NodeConnectionQuotas implements ConnectionCounts {
  readonly shared: ConnectionCounts["shared"];

  constructor(private readonly limits: ConnectionLimitSource, private readonly table: SharedKeyTable) {
    assertMaxConnections(limits.maxConnections());
    this.shared = { changes: () => table.wakeCount(), changedSince: (seen) => table.changedSince(seen), wake: () => table.wake() };
  }

  /** The effective `max.connections` now. */
  get maxConnections(): number {
    return assertMaxConnections(this.limits.maxConnections());
  }

  get total(): number {
    return this.table.locked(() => this.table.global(0));
  }

  admit(ip: string): string | null {
    const t = this.table;
    const over = t.locked(() => {
      const total = t.global(0);
      const max = this.maxConnections;
      if (total >= max) return `max.connections=${max} (node-wide)`;
      const perIp = this.limits.maxPerIp(ip);
      const slot = t.find(ip, true);
      if (slot < 0) {
        if (perIp < CONNECTIONS_PER_IP_UNLIMITED) return `${NODE_CONNECTION_ADDRESSES} client addresses with open connections (the node's table is full)`;
      } else {
        const n = t.value(slot, 0);
        if (n >= perIp) {
          if (n === 0) t.remove(slot);
          return "max.connections.per.ip";
        }
        t.setValue(slot, 0, n + 1);
      }
      t.setGlobal(0, total + 1);
      return null;
    });
    if (over === null && this.full()) t.wake();
    return over;
  }

  release(ip: string): void {
    const t = this.table;
    const wasFull = t.locked(() => {
      const full = t.global(0) >= this.maxConnections;
      if (t.global(0) <= 0) throw new Error(`connection quota released for ${ip} that holds none`);
      // an address admitted while the table was full has no entry: it was counted in the total only
      const slot = t.find(ip, false);
      if (slot >= 0) {
        const n = t.value(slot, 0);
        if (n <= 1) t.remove(slot);
        else t.setValue(slot, 0, n - 1);
      }
      t.setGlobal(0, t.global(0) - 1);
      return full;
    });
    if (wasFull) t.wake();
  }

  full(): boolean {
    return this.total >= this.maxConnections;
  }
}
