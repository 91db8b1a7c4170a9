/**
 * The parts of cluster mode's settings that every broker reads, clustered or not: the etcd endpoints of
 * `metadata.etcd.endpoints` and a registered broker's endpoint per listener. Kept apart from control-plane.ts so that
 * a single-node broker never loads the etcd client and the controller.
 */
import type { BrokerEndpoint, BrokerRegistration } from "./metadata-store.ts";

/** Parses `metadata.etcd.endpoints` (comma-separated http(s) URLs); throws on a malformed one. */
export function parseEtcdEndpoints(value: string): string[] {
  const out = value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  for (const e of out) {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      throw new Error(`metadata.etcd.endpoints: '${e}' is not a URL (expected http://host:port)`);
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.port === "" || url.pathname.length > 1) {
      throw new Error(`metadata.etcd.endpoints: '${e}' must be http://host:port or https://host:port`);
    }
  }
  return out;
}

/** The endpoint a broker registered under `listenerName` (Kafka's `inter.broker.listener.name`), or undefined. */
export function listenerEndpoint(broker: BrokerRegistration, listenerName: string): BrokerEndpoint | undefined {
  return broker.endpoints.find((e) => e.name === listenerName);
}
