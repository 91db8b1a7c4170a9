/**
 * Connection limits under Kafka's names and meanings:
 * - `max.connections`: at the limit the listener stops accepting (new clients wait in the kernel's backlog or are
 *   refused) and resumes once a connection closes; it never accepts and spins. The limit is also capped by the
 *   descriptors the open-files limit leaves after the log files' share (`log.open.files.max`), so the broker never
 *   runs out of descriptors.
 * - `max.connections.per.ip` and `max.connections.per.ip.overrides` (`host:count,host:count`): a connection over
 *   its address's limit is accepted and closed at once, as Kafka does.
 */

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

/** Counts open connections per address and in total. */
export class ConnectionQuotas {
  private readonly perIp = new Map<string, number>();
  /** Open connections. */
  total = 0;

  /**
   * @param maxConnections effective `max.connections`.
   * @param maxPerIp `max.connections.per.ip`.
   * @param overrides `max.connections.per.ip.overrides`.
   */
  constructor(readonly maxConnections: number, readonly maxPerIp: number, readonly overrides: ReadonlyMap<string, number>) {
    if (!(maxConnections >= 1)) throw new Error(`max.connections must be at least 1, got ${maxConnections}`);
  }

  /** Counts a new connection from `ip`; false (and nothing counted) when `ip` is at its limit. */
  admit(ip: string): boolean {
    const n = this.perIp.get(ip) ?? 0;
    if (n >= (this.overrides.get(ip) ?? this.maxPerIp)) return false;
    this.perIp.set(ip, n + 1);
    this.total++;
    return true;
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
