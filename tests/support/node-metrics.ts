/**
 * Reads one series of a node's `/metrics` page (a single broker's, or a sharded node's with node-level series summed
 * over its shards, docs/sharding.md "The HTTP side") instead of the in-process broker's internals, so that the same
 * test runs single-shard and sharded. A plain line match, cheap enough to poll; tests of the page's format use
 * prometheus_client (tests/support/http-broker.ts `parsePrometheus`).
 */
import { waitFor } from "./group-state.ts";

/** The value of the sample `name` with exactly `labels` on the node's page at `url`, or undefined when the page has none. */
export async function metricValue(url: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const res = await fetch(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`GET ${url}/metrics: ${res.status}`);
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(",");
  for (const line of (await res.text()).split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got = (m[2] ?? "").match(/\w+="(?:[^"\\]|\\.)*"/g) ?? [];
    if (got.sort().join(",") === want) return Number(m[3]);
  }
  return undefined;
}

/** Fetch requests parked in the node's fetch purgatory (Kafka's `PurgatorySize{delayedOperation=Fetch}`), summed over its shards. */
export async function parkedFetches(url: string): Promise<number> {
  return (await metricValue(url, "kafka_server_delayedoperationpurgatory_purgatorysize", { delayedOperation: "Fetch" })) ?? 0;
}

/**
 * Waits (up to 10 s) until the node has exactly `n` parked fetches, or at least `n` with `atLeast` (a sharded node
 * parks a fetch's part on each shard owning one of its partitions, so one request may count once per shard).
 */
export async function waitForParkedFetches(url: string, n: number, atLeast = false): Promise<void> {
  let last = -1;
  await waitFor(async () => ((last = await parkedFetches(url)) === n || (atLeast && last > n)), 10_000, () => `${atLeast ? "at least " : ""}${n} parked fetches (the node has ${last})`);
}
