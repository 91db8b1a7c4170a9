/**
 * A listener's own `listener.name.<listener>.max.connections` (KIP-402) over real sockets:
 * - set in the broker config, at its limit the listener holds a new connection unread while the broker's other
 *   listener still serves, and serves it once one of its connections closes;
 * - set at run time with Kafka's own `kafka-configs --entity-type brokers --entity-name N` (4.4 jars), checked as
 *   Kafka checks it (below 0, not a number and 0 for a live listener refused), described with the base key as
 *   synonym, and applied to the running listener: it holds new connections at the new limit, and a raised limit
 *   serves them.
 * On a sharded node the limit counts every accepting thread's connections (one broker to the client).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { acceptingThreads } from "../support/sharded-test-broker.ts";
import { KAFKA_TOOL, javaSkip, startToolSession } from "../support/java.ts";
import { waitUntil } from "../transactions/wait-until.ts";

const apiVersions = { clientSoftwareName: "t", clientSoftwareVersion: "1" };

/** Lines of `lines` saying the listener `name` is full at `limit` (e.g. "listener.name.other.max.connections=2"). */
const pausedAt = (lines: string[], limit: string, name: string) => lines.filter((l) => l.includes(`${limit} open connections: new connections to`) && l.includes(`(listener ${name})`)).length;
/** Lines of `lines` saying the listener `name` holds a connection at `limit`. */
const heldAt = (lines: string[], limit: string, name: string) => lines.filter((l) => l.includes(`holding connection from`) && l.includes(`on listener ${name} unread: ${limit}`)).length;

/** Sends ApiVersions on `c` and tells (through `answered`) when it is answered. */
function ask(c: RawClient): { answer: Promise<number>; answered: () => boolean } {
  let done = false;
  const answer = c.request(18, 3, apiVersions).then((r) => ((done = true), r.errorCode));
  return { answer, answered: () => done };
}

test("listener.name.<l>.max.connections in the config: that listener holds a new connection at its limit, the other serves on, and it is served when one closes", { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const b = await startTestBroker({
    listeners: "PLAINTEXT://127.0.0.1:0,OTHER://127.0.0.1:0",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,OTHER:PLAINTEXT",
    "listener.name.other.max.connections": "2",
  }, undefined, lines);
  const clients: RawClient[] = [];
  const other = b.broker.listenerPort("OTHER");
  const plain = b.broker.listenerPort("PLAINTEXT");
  try {
    const threads = acceptingThreads(lines);
    for (let i = 0; i < 2; i++) {
      const c = await RawClient.connect(other);
      clients.push(c);
      assert.equal((await c.request(18, 3, apiVersions)).errorCode, 0);
    }
    const limit = "listener.name.other.max.connections=2";
    await waitUntil(() => pausedAt(lines, limit, "OTHER") >= threads, 30_000, () => `OTHER full in ${threads} threads:\n${lines.join("\n")}`);
    const third = await RawClient.connect(other);
    clients.push(third);
    const waiting = ask(third);
    await waitUntil(() => heldAt(lines, limit, "OTHER") >= 1, 30_000, () => `the third connection to OTHER is held:\n${lines.join("\n")}`);
    assert.equal(waiting.answered(), false, "the third connection to OTHER is not served at its limit");
    // the broker is not full: PLAINTEXT serves
    assert.equal(pausedAt(lines, "max.connections", "PLAINTEXT"), 0, lines.join("\n"));
    for (let i = 0; i < 3; i++) {
      const c = await RawClient.connect(plain);
      clients.push(c);
      assert.equal((await c.request(18, 3, apiVersions)).errorCode, 0, "PLAINTEXT serves");
    }
    clients[0].close();
    assert.equal(await waiting.answer, 0, "the held connection to OTHER is served below its limit");
    await waitUntil(() => lines.some((l) => l.includes(`below ${limit} again: serving new connections`) && l.includes("(listener OTHER)")), 30_000, () => lines.join("\n"));
  } finally {
    for (const c of clients) c.close();
    await b.stop();
  }
});

test("kafka-configs --entity-type brokers sets listener.name.<l>.max.connections on the live listener, checked and described as Kafka", { skip: javaSkip, timeout: 120_000 }, async () => {
  const lines: string[] = [];
  const b = await startTestBroker({}, undefined, lines);
  const tools = startToolSession();
  const clients: RawClient[] = [];
  const key = "listener.name.plaintext.max.connections";
  const admin = await RawClient.connect(b.port);
  clients.push(admin);
  try {
    const threads = acceptingThreads(lines);
    const node = String((await admin.request(3, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).brokers[0].nodeId);
    const configs = (...args: string[]) => tools.run(KAFKA_TOOL.configs, ["--bootstrap-server", b.bootstrap, "--entity-type", "brokers", ...args]);
    // checked as the base key (a whole number, at least 0), and a live listener refuses 0 (ListenerConnectionQuota)
    for (const bad of ["-1", "abc", "0"]) {
      const refused = await configs("--entity-name", node, "--alter", "--add-config", `${key}=${bad}`);
      assert.notEqual(refused.code, 0, `${key}=${bad} was taken:\n${refused.stdout}`);
      assert.match(refused.stderr + refused.stdout, /InvalidRequestException|Invalid value/, refused.stderr);
    }
    const set = await configs("--entity-name", node, "--alter", "--add-config", `${key}=4`);
    assert.equal(set.code, 0, set.stderr);
    // described for the broker as Kafka 4.4 describes it: its own value first, the base key's default as synonym
    const shown = await configs("--entity-name", node, "--describe", "--all");
    const line = shown.stdout.split("\n").find((l) => l.trim().startsWith(`${key}=`));
    assert.ok(line !== undefined, shown.stdout);
    assert.match(line, /=4 sensitive=false synonyms=\{DYNAMIC_BROKER_CONFIG:listener\.name\.plaintext\.max\.connections=4, DEFAULT_CONFIG:max\.connections=2147483647\}/, line);
    // applied to the running listener (on a sharded node, every accepting thread once it read the metadata): the
    // tool's connections have closed; connections are served until the listener holds 4, then new ones wait
    const limit = `${key}=4`;
    for (let i = 0; i < 20 && pausedAt(lines, limit, "PLAINTEXT") < threads; i++) {
      const c = await RawClient.connect(b.port);
      clients.push(c);
      // answered, or held once the listener is full (the one that filled it may be answered after the line)
      await Promise.race([ask(c).answer, waitUntil(() => pausedAt(lines, limit, "PLAINTEXT") >= threads, 30_000, () => `PLAINTEXT full at ${limit}:\n${lines.join("\n")}`)]);
    }
    await waitUntil(() => pausedAt(lines, limit, "PLAINTEXT") >= threads, 30_000, () => `PLAINTEXT full at ${limit} in ${threads} threads:\n${lines.join("\n")}`);
    const held = await RawClient.connect(b.port);
    clients.push(held);
    const waiting = ask(held);
    await waitUntil(() => heldAt(lines, limit, "PLAINTEXT") >= 1, 30_000, () => `a connection is held at ${limit}:\n${lines.join("\n")}`);
    assert.equal(waiting.answered(), false, "not served at the listener's limit");
    assert.equal((await admin.request(18, 3, apiVersions)).errorCode, 0, "connections already open are served");
    // raised at run time through a connection already open: the held connection is served although none closed
    const raised = await admin.request(44, 1, { resources: [{ resourceType: 4, resourceName: node, configs: [{ name: key, configOperation: 0, value: "100" }] }], validateOnly: false });
    assert.equal(raised.responses[0].errorCode, 0, JSON.stringify(raised.responses[0]));
    assert.equal(await waiting.answer, 0, "the held connection is served under the raised limit");
    await waitUntil(() => lines.filter((l) => l.includes(`below ${key}=100 again: serving new connections`)).length >= threads, 30_000, () => `PLAINTEXT serves again under ${key}=100:\n${lines.join("\n")}`);
    const again = await RawClient.connect(b.port);
    clients.push(again);
    assert.equal((await again.request(18, 3, apiVersions)).errorCode, 0, "served under the raised limit");
  } finally {
    for (const c of clients) c.close();
    await tools.close();
    await b.stop();
  }
});
