/**
 * /metrics shows the connection creation rates (KIP-612) per listener as Kafka's metrics: socket-server-metrics
 * `connection-accept-rate`, `broker-connection-accept-rate`, `connection-accept-throttle-time` and
 * `ip-connection-accept-throttle-time`, and the kafka.network Acceptor `AcceptorBlockedPercent` meter (the time the
 * listener waited out throttles). Clients open connections: unlimited first (measured, not throttled), then over an
 * address's connection_creation_rate quota set with a real admin client (closed unserved: an ip throttle), then over
 * the listener's own rate set dynamically (the listener waits before serving them); the page, parsed by
 * prometheus_client, shows each step. Under RUNNEL_TEST_SHARDS=2 a sharded node answers: its accepting threads share
 * the sensors, and the gauges come once, from its main front.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { havePrometheusParser, parsePrometheus, sampleValue, startHttpTestBroker } from "../support/http-broker.ts";
import { RawClient } from "../support/raw-client.ts";

const skip = !havePrometheusParser() ? "python3-prometheus-client is not installed (tests/setup.d/45-prometheus-parser.sh)" : false;
const apiVersions = { clientSoftwareName: "t", clientSoftwareVersion: "1" };
const L = { listener: "PLAINTEXT" };

/** Connects from `localAddress` and asks ApiVersions: "served", or "closed" when the broker closed it unanswered. */
async function connectAndAsk(port: number, localAddress: string, open: RawClient[]): Promise<"served" | "closed"> {
  const c = await RawClient.connect(port, localAddress);
  open.push(c);
  return (await c.sendRaw(c.frame(18, 3, apiVersions), true)) === null ? "closed" : "served";
}

test("/metrics shows each listener's connection accept rate, its throttle times and the time its accepting was blocked", { skip, timeout: 120_000 }, async () => {
  const b = await startHttpTestBroker();
  const port = Number(b.bootstrap.split(":")[1]);
  const open: RawClient[] = [];
  const c = await RawClient.connect(port);
  const { Admin } = await import("@platformatic/kafka");
  // its types list only the user and client-id entity types; its requests carry any
  const admin = new Admin({ clientId: "accept-metrics-admin", bootstrapBrokers: [b.bootstrap] }) as unknown as {
    alterClientQuotas(o: unknown): Promise<Array<{ errorCode: number }>>;
    close(): Promise<void>;
  };
  const scrape = async () => {
    const res = await fetch(`${b.url}/metrics`);
    assert.equal(res.status, 200);
    return parsePrometheus(await res.text());
  };
  const count = (samples: Awaited<ReturnType<typeof scrape>>, name: string) => samples.filter((x) => x.name === name).length;
  try {
    // no limit yet: connections are measured, nothing is throttled
    for (let i = 0; i < 3; i++) assert.equal(await connectAndAsk(port, "127.0.0.1", open), "served");
    let s = await scrape();
    assert.ok(sampleValue(s, "kafka_server_socket_server_metrics_connection_accept_rate", L) > 0, "the listener's accept rate");
    assert.ok(sampleValue(s, "kafka_server_socket_server_metrics_broker_connection_accept_rate") > 0, "the broker's accept rate");
    assert.equal(count(s, "kafka_server_socket_server_metrics_connection_accept_throttle_time"), 0, "no throttle yet");
    assert.equal(count(s, "kafka_server_socket_server_metrics_ip_connection_accept_throttle_time"), 0, "no address throttled yet");

    // an address quota of 2/s (a real admin client): connections from 127.0.0.2 until one is closed unserved
    const set = await admin.alterClientQuotas({ entries: [{ entities: [{ entityType: "ip", entityName: "127.0.0.2" }], ops: [{ key: "connection_creation_rate", value: 2, remove: false }] }] });
    assert.deepEqual(set.map((e) => e.errorCode), [0]);
    let outcome: "served" | "closed" = "served";
    for (let i = 0; i < 60 && outcome === "served"; i++) outcome = await connectAndAsk(port, "127.0.0.2", open);
    assert.equal(outcome, "closed", "no connection from 127.0.0.2 was closed over its quota");
    s = await scrape();
    const ipThrottle = sampleValue(s, "kafka_server_socket_server_metrics_ip_connection_accept_throttle_time", L);
    assert.ok(ipThrottle > 0 && ipThrottle <= 1000, `average ip throttle ${ipThrottle} ms: within one quota window`);
    assert.equal(count(s, "kafka_server_socket_server_metrics_connection_accept_throttle_time"), 0, "an ip throttle is not a listener throttle");

    // the listener's own rate, 1/s (set dynamically; a sharded node's threads read it a moment later): connections
    // over it wait, then are served (bounded rounds)
    const alter = await c.request(44, 1, { resources: [{ resourceType: 4, resourceName: "", configs: [{ name: "listener.name.plaintext.max.connection.creation.rate", configOperation: 0, value: "1" }] }], validateOnly: false });
    assert.equal(alter.responses[0].errorCode, 0);
    for (let round = 0; round < 20 && count(s, "kafka_server_socket_server_metrics_connection_accept_throttle_time") === 0; round++) {
      const outcomes = await Promise.all(Array.from({ length: 4 }, () => connectAndAsk(port, "127.0.0.1", open)));
      assert.deepEqual(outcomes, Array(4).fill("served"));
      s = await scrape();
    }
    const throttle = sampleValue(s, "kafka_server_socket_server_metrics_connection_accept_throttle_time", L);
    assert.ok(throttle > 0 && throttle <= 1000, `average throttle ${throttle} ms: within one quota window`);
    assert.ok(sampleValue(s, "kafka_network_acceptor_acceptorblockedpercent_total", L) > 0, "the listener waited out throttles");
  } finally {
    c.close();
    for (const x of open) x.close();
    await admin.close().catch(() => {});
    await b.stop();
  }
});
