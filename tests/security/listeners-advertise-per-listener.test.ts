/**
 * Several listeners at once with `listener.security.protocol.map` and `advertised.listeners` per listener: a
 * client (kafkajs) is given the address of the listener it connected to in Metadata, FindCoordinator and
 * DescribeCluster; broken listener settings stop the start with a message naming the key; `max.connections` counts
 * the connections of all listeners together.
 */
import { test } from "node:test";
import * as net from "node:net";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { startTestBroker } from "../support/broker.ts";
import { IN_PROCESS } from "../support/group-state.ts";
import { acceptingThreads } from "../support/sharded-test-broker.ts";
import { waitUntil } from "../transactions/wait-until.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { validateListeners, interBrokerListenerName } from "../../src/security/listeners.ts";
import { PrincipalMapping } from "../../src/security/principal-mapping.ts";

test("kafkajs on each of two listeners is told that listener's advertised address", { timeout: 60_000 }, async () => {
  const b = await startTestBroker({
    listeners: "INTERNAL://127.0.0.1:0,EXTERNAL://127.0.0.1:0",
    "listener.security.protocol.map": "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT",
    "advertised.listeners": "EXTERNAL://localhost:0",
    "inter.broker.listener.name": "INTERNAL",
  });
  try {
    const internal = b.broker.listenerPort("INTERNAL");
    const external = b.broker.listenerPort("EXTERNAL");
    assert.notEqual(internal, external);
    for (const [port, host] of [[internal, "127.0.0.1"], [external, "localhost"]] as const) {
      const kafka = new Kafka({ clientId: "adv", brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      const cluster = await admin.describeCluster();
      assert.deepEqual(cluster.brokers.map((x) => [x.host, x.port]), [[host, port]]);
      await admin.createTopics({ topics: [{ topic: `t-${port}` }] });
      const groups = await admin.describeGroups([`g-${port}`]);
      assert.equal(groups.groups[0].groupId, `g-${port}`, "FindCoordinator's answer was reachable");
      await admin.disconnect();
    }
    // The broker's registration (every listener with its protocol) has no Kafka API: an in-process broker's only.
    if (IN_PROCESS) {
      const registered = b.broker.metadataView.brokers()[0].endpoints;
      assert.deepEqual(registered.map((e) => [e.name, e.host, e.port, e.securityProtocol]), [["INTERNAL", "127.0.0.1", internal, "PLAINTEXT"], ["EXTERNAL", "localhost", external, "PLAINTEXT"]]);
      assert.equal(interBrokerListenerName(b.broker.config), "INTERNAL");
    }
  } finally {
    await b.stop();
  }
});

test("listener settings are checked: unmapped name, duplicate name, unknown advertised or inter-broker listener", () => {
  const check = (values: Record<string, string>) => () => validateListeners(new BrokerConfig(new Map(Object.entries(values))));
  assert.throws(check({ listeners: "CUSTOM://127.0.0.1:0" }), /no security protocol for listener CUSTOM/);
  assert.throws(check({ listeners: "PLAINTEXT://127.0.0.1:0,PLAINTEXT://127.0.0.1:1" }), /appears twice/);
  assert.throws(check({ listeners: "PLAINTEXT://127.0.0.1:0", "advertised.listeners": "SSL://h:1" }), /SSL is not one of the listeners/);
  assert.throws(check({ listeners: "PLAINTEXT://127.0.0.1:0", "inter.broker.listener.name": "REPL" }), /inter.broker.listener.name=REPL/);
  assert.throws(check({ listeners: "A://127.0.0.1:0", "listener.security.protocol.map": "A:TLS" }), /invalid entry 'A:TLS'/);
});

test("ssl.principal.mapping.rules: RULE with case change, fall-through to DEFAULT", () => {
  const m = PrincipalMapping.parse("RULE:^CN=([a-z]+),OU=eng,O=(.*)$/$1@$2/U, RULE:^CN=(.*?),.*$/$1/, DEFAULT");
  assert.equal(m.map("CN=alice,OU=eng,O=Runnel"), "ALICE@RUNNEL");
  assert.equal(m.map("CN=bob,OU=ops,O=Runnel"), "bob");
  assert.equal(m.map("O=NoCommonName"), "O=NoCommonName");
  assert.equal(PrincipalMapping.parse("DEFAULT").map("CN=x,O=y"), "CN=x,O=y");
  assert.equal(PrincipalMapping.parse("RULE:^CN=(.*)\\/(.*)$/$2/L").map("CN=a/B"), "b");
  assert.throws(() => PrincipalMapping.parse("RULE:^CN=x"), /unterminated RULE/);
});

/** Connects and resolves "connected" or the error code (ECONNREFUSED when the listener is paused). */
function tryConnect(port: number): Promise<{ outcome: string; sock: net.Socket }> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    sock.once("connect", () => resolve({ outcome: "connected", sock }));
    sock.once("error", (e) => resolve({ outcome: (e as NodeJS.ErrnoException).code ?? String(e), sock }));
  });
}

test("max.connections is broker-wide: a full broker stops accepting on every listener and resumes on all", { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const b = await startTestBroker({ listeners: "PLAINTEXT://127.0.0.1:0,OTHER://127.0.0.1:0", "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,OTHER:PLAINTEXT", "max.connections": "2" }, undefined, lines);
  const socks: net.Socket[] = [];
  const ports = [b.broker.listenerPort("PLAINTEXT"), b.broker.listenerPort("OTHER")];
  try {
    const threads = acceptingThreads(lines);
    for (const port of ports) {
      const r = await tryConnect(port);
      socks.push(r.sock);
      assert.equal(r.outcome, "connected");
    }
    // Every listener of every accepting thread (one, or a sharded node's main front and shard threads) has closed
    // its socket: a connect before that could reach a thread that has not yet seen the node full.
    const paused = () => lines.filter((l) => l.includes("max.connections=2 open connections: not accepting")).length;
    await waitUntil(() => paused() >= ports.length * threads, 30_000, () => `every listener of ${threads} threads stopped accepting:\n${lines.join("\n")}`);
    for (const port of ports) {
      const r = await tryConnect(port);
      socks.push(r.sock);
      assert.equal(r.outcome, "ECONNREFUSED", `listener on ${port} stopped accepting`);
    }
    socks[1].destroy(); // a connection of the OTHER listener closes: both accept again
    let outcome = "";
    for (let i = 0; i < 100 && outcome !== "connected"; i++) {
      const r = await tryConnect(ports[0]);
      socks.push(r.sock);
      outcome = r.outcome;
      if (outcome !== "connected") await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(outcome, "connected", "the PLAINTEXT listener accepts again");
  } finally {
    for (const s of socks) s.destroy();
    await b.stop();
  }
});
