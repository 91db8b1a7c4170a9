/**
 * Connection creation rate quotas (KIP-612) over real sockets, plain and on a sharded node (RUNNEL_TEST_SHARDS):
 * - an ip entity's `connection_creation_rate`, set with a real admin client (@platformatic/kafka AlterClientQuotas)
 *   and described back as Kafka does: once 127.0.0.1 is over its rate a new connection from it is closed without
 *   an answer, while 127.0.0.2, with no quota, is served for more connections than the quota would allow;
 * - Kafka's own `kafka-configs --entity-type ips` (4.4 jars) sets, describes and removes such quotas (named and
 *   default), and the default ip entity's rate closes a connection over it too;
 * - `max.connection.creation.rate`: the listener waits before serving a connection over the rate, then serves it;
 *   set as a dynamic broker config (IncrementalAlterConfigs) it applies to the next connections, and a negative
 *   value is refused;
 * - `listener.name.<listener>.max.connection.creation.rate` set with Kafka's `kafka-configs --entity-type brokers`
 *   (4.4 jars): refused below 1, described with the base key as synonym, and applied to the live listener.
 * No timing is asserted: each test waits for the positive event (the close, the answer, the broker's log line).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { KAFKA_TOOL, javaSkip, startToolSession } from "../support/java.ts";

const apiVersions = { clientSoftwareName: "t", clientSoftwareVersion: "1" };

/** Connects from `localAddress` and asks ApiVersions: "served", or "closed" when the broker closed it unanswered. */
async function connectAndAsk(port: number, localAddress: string, open: RawClient[]): Promise<"served" | "closed"> {
  const c = await RawClient.connect(port, localAddress);
  open.push(c);
  const frame = await c.sendRaw(c.frame(18, 3, apiVersions), true);
  return frame === null ? "closed" : "served";
}

test("an address over its connection_creation_rate quota is closed unserved; another address is served", { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const b = await startTestBroker({}, undefined, lines);
  const open: RawClient[] = [];
  const { Admin } = await import("@platformatic/kafka");
  // its types list only the user and client-id entity types and keys; its requests carry any
  const admin = new Admin({ clientId: "ip-quota-admin", bootstrapBrokers: [`127.0.0.1:${b.port}`] }) as unknown as {
    alterClientQuotas(o: unknown): Promise<Array<{ errorCode: number }>>;
    describeClientQuotas(o: unknown): Promise<unknown>;
    close(): Promise<void>;
  };
  try {
    const set = await admin.alterClientQuotas({ entries: [{ entities: [{ entityType: "ip", entityName: "127.0.0.1" }], ops: [{ key: "connection_creation_rate", value: 2, remove: false }] }] });
    assert.deepEqual(set.map((e) => e.errorCode), [0], JSON.stringify(set));
    const described = await admin.describeClientQuotas({ components: [{ entityType: "ip", matchType: 0, match: "127.0.0.1" }], strict: true });
    assert.deepEqual(JSON.parse(JSON.stringify(described)), [{ entity: [{ entityType: "ip", entityName: "127.0.0.1" }], values: [{ key: "connection_creation_rate", value: 2 }] }]);
    // 2/s over the 10 windows a new sensor spans: about 20 connections, then one is closed (bounded at 60)
    let served = 0;
    let outcome: "served" | "closed" = "served";
    while (outcome === "served" && served < 60) {
      outcome = await connectAndAsk(b.port, "127.0.0.1", open);
      if (outcome === "served") served++;
    }
    assert.equal(outcome, "closed", `every one of ${served} connections from 127.0.0.1 was served`);
    assert.ok(served >= 10, `only ${served} connections were served before the close`);
    assert.ok(lines.some((l) => l.includes("over connection_creation_rate=2 of 127.0.0.1")), lines.join("\n"));
    // 127.0.0.2 has no quota: more connections than 127.0.0.1 was allowed are all served
    for (let i = 0; i < served + 5; i++) assert.equal(await connectAndAsk(b.port, "127.0.0.2", open), "served", `connection ${i} from 127.0.0.2`);
    // the admin client removes the quota: 127.0.0.1 is served again (the quota is read on each accept)
    const removed = await admin.alterClientQuotas({ entries: [{ entities: [{ entityType: "ip", entityName: "127.0.0.1" }], ops: [{ key: "connection_creation_rate", value: 0, remove: true }] }] });
    assert.deepEqual(removed.map((e) => e.errorCode), [0]);
    let again: "served" | "closed" = "closed";
    // a sharded node's accepting threads learn of the removal from the metadata a moment later (bounded)
    for (let i = 0; i < 100 && again === "closed"; i++) {
      again = await connectAndAsk(b.port, "127.0.0.1", open);
      if (again === "closed") await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(again, "served");
  } finally {
    for (const c of open) c.close();
    await admin.close().catch(() => {});
    await b.stop();
  }
});

test("max.connection.creation.rate: the listener waits before serving a connection over the rate, then serves it", { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const b = await startTestBroker({ "max.connection.creation.rate": "1" }, undefined, lines);
  const open: RawClient[] = [];
  try {
    // 1/s over 10 windows: about 10 at once, the rest wait their turn; every one is served in the end
    const outcomes = await Promise.all(Array.from({ length: 13 }, () => connectAndAsk(b.port, "127.0.0.1", open)));
    assert.deepEqual(outcomes, Array(13).fill("served"));
    assert.ok(lines.some((l) => l.includes("over max.connection.creation.rate, waiting")), lines.join("\n"));
  } finally {
    for (const c of open) c.close();
    await b.stop();
  }
});

test("max.connection.creation.rate set dynamically applies to the next connections; a negative one is refused", { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const b = await startTestBroker({}, undefined, lines);
  const open: RawClient[] = [];
  const c = await RawClient.connect(b.port);
  try {
    const alter = async (value: string) => {
      const r = await c.request(44, 1, { resources: [{ resourceType: 4, resourceName: "", configs: [{ name: "max.connection.creation.rate", configOperation: 0, value }] }], validateOnly: false });
      return r.responses[0].errorCode;
    };
    assert.equal(await alter("-1"), 42); // INVALID_REQUEST: at least 0
    assert.equal(await alter("1"), 0);
    // a sharded node's accepting threads read the value from the metadata a moment later: connect until one waits
    for (let round = 0; round < 20 && !lines.some((l) => l.includes("over max.connection.creation.rate, waiting")); round++) {
      const outcomes = await Promise.all(Array.from({ length: 12 }, () => connectAndAsk(b.port, "127.0.0.1", open)));
      assert.deepEqual(outcomes, Array(12).fill("served"));
    }
    assert.ok(lines.some((l) => l.includes("over max.connection.creation.rate, waiting")), lines.join("\n"));
  } finally {
    c.close();
    for (const x of open) x.close();
    await b.stop();
  }
});

test("kafka-configs --entity-type brokers sets listener.name.<l>.max.connection.creation.rate on the live listener, as Kafka", { skip: javaSkip, timeout: 120_000 }, async () => {
  const lines: string[] = [];
  const b = await startTestBroker({}, undefined, lines);
  const tools = startToolSession();
  const open: RawClient[] = [];
  const c = await RawClient.connect(b.port);
  const key = "listener.name.plaintext.max.connection.creation.rate";
  try {
    const node = String((await c.request(3, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).brokers[0].nodeId);
    const configs = (...args: string[]) => tools.run(KAFKA_TOOL.configs, ["--bootstrap-server", b.bootstrap, "--entity-type", "brokers", ...args]);
    // checked as the base key (at least 0), and a live listener refuses 0 (Kafka's ListenerConnectionQuota)
    for (const bad of ["-1", "0"]) {
      const refused = await configs("--entity-name", node, "--alter", "--add-config", `${key}=${bad}`);
      assert.notEqual(refused.code, 0, `${key}=${bad} was taken:\n${refused.stdout}`);
      assert.match(refused.stderr + refused.stdout, /InvalidRequestException|Invalid value/, refused.stderr);
    }
    const set = await configs("--entity-name", node, "--alter", "--add-config", `${key}=1`);
    assert.equal(set.code, 0, set.stderr);
    // described for the broker as Kafka 4.4 describes it: its own value first, the base key's default as synonym
    const shown = await configs("--entity-name", node, "--describe", "--all");
    const line = shown.stdout.split("\n").find((l) => l.trim().startsWith(`${key}=`));
    assert.ok(line !== undefined, shown.stdout);
    assert.match(line, /=1 sensitive=false synonyms=\{DYNAMIC_BROKER_CONFIG:listener\.name\.plaintext\.max\.connection\.creation\.rate=1, DEFAULT_CONFIG:max\.connection\.creation\.rate=2147483647\}/, line);
    // applied to the running listener (on a sharded node, every accepting thread once it read the metadata): it
    // waits before serving a connection over 1/s, then serves it
    const waited = () => lines.some((l) => l.includes(`over ${key}, waiting`));
    for (let round = 0; round < 20 && !waited(); round++) {
      const outcomes = await Promise.all(Array.from({ length: 12 }, () => connectAndAsk(b.port, "127.0.0.1", open)));
      assert.deepEqual(outcomes, Array(12).fill("served"));
    }
    assert.ok(waited(), lines.join("\n"));
  } finally {
    c.close();
    for (const x of open) x.close();
    await tools.close();
    await b.stop();
  }
});

test("kafka-configs --entity-type ips sets, describes and removes connection_creation_rate; the default entity limits too", { skip: javaSkip, timeout: 120_000 }, async () => {
  const b = await startTestBroker();
  const tools = startToolSession();
  const open: RawClient[] = [];
  try {
    const configs = (...args: string[]) => tools.run(KAFKA_TOOL.configs, ["--bootstrap-server", b.bootstrap, ...args]);
    const named = await configs("--alter", "--entity-type", "ips", "--entity-name", "10.1.2.3", "--add-config", "connection_creation_rate=7");
    assert.equal(named.code, 0, named.stderr);
    const dflt = await configs("--alter", "--entity-type", "ips", "--entity-default", "--add-config", "connection_creation_rate=2");
    assert.equal(dflt.code, 0, dflt.stderr);
    const shown = await configs("--describe", "--entity-type", "ips", "--entity-name", "10.1.2.3");
    assert.match(shown.stdout, /connection_creation_rate=7(\.0)?\b/, shown.stdout);
    const shownDefault = await configs("--describe", "--entity-type", "ips", "--entity-default");
    assert.match(shownDefault.stdout, /connection_creation_rate=2(\.0)?\b/, shownDefault.stdout);
    const removed = await configs("--alter", "--entity-type", "ips", "--entity-name", "10.1.2.3", "--delete-config", "connection_creation_rate");
    assert.equal(removed.code, 0, removed.stderr);
    const after = await configs("--describe", "--entity-type", "ips", "--entity-name", "10.1.2.3");
    assert.doesNotMatch(after.stdout, /connection_creation_rate/, after.stdout);
    // 127.0.0.1 has no quota of its own: the default entity's 2/s applies (bounded at 60 connections; last, as the
    // tool's own connections come from 127.0.0.1 too)
    let outcome: "served" | "closed" = "served";
    for (let i = 0; i < 60 && outcome === "served"; i++) outcome = await connectAndAsk(b.port, "127.0.0.1", open);
    assert.equal(outcome, "closed", "no connection was closed over the default ip entity's rate");
  } finally {
    for (const c of open) c.close();
    await tools.close();
    await b.stop();
  }
});
