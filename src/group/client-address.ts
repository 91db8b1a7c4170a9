/** How a member's host is shown in DescribeGroups and lag rows: Kafka's `InetAddress.toString()` form. */

/** "/127.0.0.1" from a connection's "127.0.0.1:54321" (or "[::1]:54321" / "::1:54321"). */
export function clientHostOf(remote: string): string {
  let host = remote;
  const m = /^(.*):(\d+)$/.exec(remote);
  if (m !== null) host = m[1];
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (host.startsWith("::ffff:") && host.includes(".")) host = host.slice(7);
  return `/${host}`;
}
