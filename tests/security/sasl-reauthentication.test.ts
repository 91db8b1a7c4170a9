/**
 * KIP-368 re-authentication (`connections.max.reauth.ms`): SaslAuthenticate answers the session lifetime; a client
 * re-authenticating on the same connection as the same user carries on; re-authenticating as another user fails
 * and closes; a client that lets its session expire is disconnected at its next request. The Java producer
 * (VerifiableProducer, Kafka 4.4) keeps producing across several lifetimes by re-authenticating.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { waitUntil } from "../transactions/wait-until.ts";
import { KAFKA_TOOL, javaSkip, startToolSession } from "../support/java.ts";

const JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-pw" user_bob="bob-pw";';
const settings = (reauthMs: number) => ({
  listeners: "SASL_PLAINTEXT://127.0.0.1:0",
  "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN",
  "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
  "connections.max.reauth.ms": String(reauthMs),
});
const METADATA = { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false };

async function login(c: RawClient, user: string): Promise<{ errorCode: number; sessionLifetimeMs: bigint }> {
  assert.equal((await c.request(17, 1, { mechanism: "PLAIN" })).errorCode, 0);
  return c.request(36, 2, { authBytes: Buffer.from(`\0${user}\0${user}-pw`) });
}

test("re-authentication: lifetime answered, same user renews, another user is refused, an expired session is closed", { timeout: 60_000 }, async () => {
  const logLines: string[] = [];
  const b = await startTestBroker(settings(400), undefined, logLines);
  try {
    const c = await RawClient.connect(b.port);
    const first = await login(c, "alice");
    assert.equal(first.errorCode, 0);
    assert.equal(first.sessionLifetimeMs, 400n);
    const again = await login(c, "alice");
    assert.equal(again.errorCode, 0, "re-authentication as the same user");
    await waitUntil(() => logLines.some((l) => l.includes("re-authenticated User:alice")), 10_000, "the re-authentication line");
    assert.equal((await c.request(3, 12, METADATA)).brokers.length, 1);
    const other = await login(c, "bob");
    assert.equal(other.errorCode, 58, "the principal may not change");
    await c.closed;

    // Without re-authenticating, the first request after the lifetime closes the connection.
    const lazy = await RawClient.connect(b.port);
    assert.equal((await login(lazy, "alice")).errorCode, 0);
    let closed = false;
    for (let i = 0; i < 200 && !closed; i++) {
      closed = await lazy.request(3, 12, METADATA).then(() => false, () => true);
      if (!closed) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(closed, "closed once the session expired");
    // The line may reach the test after the close (a sharded node logs from its own process).
    await waitUntil(() => logLines.some((l) => l.includes("expired (connections.max.reauth.ms)")), 10_000, "the expired-session line");
  } finally {
    await b.stop();
  }
});

test("Java producer re-authenticates across several session lifetimes", { skip: javaSkip, timeout: 180_000 }, async () => {
  const logLines: string[] = [];
  const b = await startTestBroker(settings(2000), undefined, logLines);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-reauth-"));
  const tools = startToolSession();
  try {
    // Created by a logged-in client (the node has only the SASL listener).
    const c = await RawClient.connect(b.port);
    try {
      assert.equal((await login(c, "alice")).errorCode, 0);
      const created = await c.request(19, 7, { topics: [{ name: "reauth", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 30_000, validateOnly: false });
      assert.equal(created.topics[0].errorCode, 0);
    } finally {
      c.close();
    }
    const props = path.join(dir, "producer.properties");
    fs.writeFileSync(props, ["security.protocol=SASL_PLAINTEXT", "sasl.mechanism=PLAIN", 'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="alice-pw";'].join("\n") + "\n");
    const r = await tools.run(KAFKA_TOOL.verifiableProducer, ["--bootstrap-server", b.bootstrap, "--topic", "reauth", "--max-messages", "30", "--throughput", "5", "--producer.config", props]);
    assert.equal(r.code, 0, r.stderr);
    const sent = r.stdout.split("\n").filter((l) => l.includes('"producer_send_success"')).length;
    // On a miss, what the producer said other than its successes (send errors, shutdown) and its log's tail.
    const other = r.stdout.split("\n").filter((l) => l !== "" && !l.includes('"producer_send_success"'));
    assert.equal(sent, 30, `${other.join("\n").slice(-3000)}\n--- stderr ---\n${r.stderr.slice(-3000)}`);
    await waitUntil(() => logLines.some((l) => l.includes("re-authenticated User:alice")), 10_000, "the producer re-authenticated at least once");
  } finally {
    await tools.close();
    await b.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
