/**
 * Several listeners at once with `listener.security.protocol.map` and `advertised.listeners` per listener: a
 * client (kafkajs) is given the address of the listener it connected to in Metadata, FindCoordinator and
 * DescribeCluster; broken listener settings stop the start with a message naming the key; `max.connections` counts
 * the connections of all listeners together and stops every listener but the inter-broker one, whose connections
 * over it close other listeners' least recently used ones (Kafka's protected listener).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { IN_PROCESS } from "../support/group-state.ts";
import { acceptingThreads } from "../support/sharded-test-broker.ts";
import { waitUntil } from "../transactions/wait-until.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { validateListeners, interBrokerListenerName } from "../../src/security/listeners.ts";
import { PrincipalMapping } from "../../src/security/principal-mapping.ts";

const apiVersions = { clientSoftwareName: "t", clientSoftwareVersion: "1" };

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

test("max.connections is broker-wide: a full broker holds new connections on every listener but the inter-broker one, whose connection closes another listener's least recently used one", { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const b = await startTestBroker({
    listeners: "PLAINTEXT://127.0.0.1:0,OTHER://127.0.0.1:0,BROKER://127.0.0.1:0",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,OTHER:PLAINTEXT,BROKER:PLAINTEXT",
    "inter.broker.listener.name": "BROKER",
    "max.connections": "2",
  }, undefined, lines);
  const clients: RawClient[] = [];
  const ports = [b.broker.listenerPort("PLAINTEXT"), b.broker.listenerPort("OTHER")];
  try {
    const threads = acceptingThreads(lines);
    const first = await RawClient.connect(ports[0]);
    clients.push(first);
    assert.equal((await first.request(18, 3, apiVersions)).errorCode, 0);
    const second = await RawClient.connect(ports[1]);
    clients.push(second);
    assert.equal((await second.request(18, 3, apiVersions)).errorCode, 0);
    // Every client listener of every accepting thread (one, or a sharded node's main front and shard threads) is
    // full; a connection to either waits unread.
    const paused = (listener: string) => lines.filter((l) => l.includes("max.connections=2 open connections: new connections to") && l.includes(`(listener ${listener})`)).length;
    await waitUntil(() => paused("PLAINTEXT") + paused("OTHER") >= ports.length * threads, 30_000, () => `every client listener of ${threads} threads is full:\n${lines.join("\n")}`);
    const held: { answered: boolean; answer: Promise<number> }[] = [];
    for (const [i, port] of ports.entries()) {
      const c = await RawClient.connect(port);
      clients.push(c);
      const h: { answered: boolean; answer: Promise<number> } = { answered: false, answer: Promise.resolve(-1) };
      h.answer = c.request(18, 3, apiVersions).then((r) => ((h.answered = true), r.errorCode));
      held.push(h);
      const name = i === 0 ? "PLAINTEXT" : "OTHER";
      await waitUntil(() => lines.some((l) => l.includes("holding connection from") && l.includes(`on listener ${name} unread: max.connections=2`)), 30_000, () => `a connection to ${name} is held:\n${lines.join("\n")}`);
      assert.equal(h.answered, false, `listener on ${port} holds it unserved`);
    }
    // The inter-broker listener (Kafka's protected listener) was not stopped: its connection is served, and the
    // broker, now over max.connections, closes the least recently used connection of another listener (the first
    // client's: the second asked later; on a sharded node the two may be in different threads, and a thread closes
    // its own least recently used one).
    await second.request(18, 3, apiVersions);
    assert.equal(paused("BROKER"), 0, lines.join("\n"));
    const inter = await RawClient.connect(b.broker.listenerPort("BROKER"));
    clients.push(inter);
    assert.equal((await inter.request(18, 3, apiVersions)).errorCode, 0, "the inter-broker listener serves over max.connections");
    const closed = await Promise.race([first.closed.then(() => "first"), second.closed.then(() => "second")]);
    if (threads === 1) assert.equal(closed, "first", "the least recently used connection closed");
    assert.ok(lines.some((l) => /closing connection .* on listener (PLAINTEXT|OTHER), the least recently used: more than max.connections=2 open connections/.test(l)), lines.join("\n"));
    const survivor = closed === "first" ? second : first;
    assert.equal((await survivor.request(18, 3, apiVersions)).errorCode, 0, "only one connection closed");
    // back at the limit: the client listeners still hold theirs; the inter-broker connection closes and one held
    // connection is served (the other waits for the next slot)
    assert.equal(held.filter((h) => h.answered).length, 0, "nothing served at the limit");
    inter.close();
    assert.equal(await Promise.race(held.map((h) => h.answer)), 0, "a held connection is served once the inter-broker connection closed");
  } finally {
    for (const c of clients) c.close();
    await b.stop();
  }
});
