/**
 * Connection limits and deadlines over real sockets: idle connections close after `connections.max.idle.ms`,
 * half-sent and trickled frames after `socket.request.read.timeout.ms`; `max.connections` and
 * `max.connections.per.ip` altered at run time (a new connection waits at the limit: tests/broker/
 * full-listener-holds-new-connections); `max.connections.per.ip` (with overrides) closes the extra connection at
 * once. Unknown config keys warn; malformed values refuse to start with the key in the message.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { acceptingThreads } from "../support/sharded-test-broker.ts";
import { BrokerConfig } from "../../src/broker/config.ts";

const apiVersions = { clientSoftwareName: "t", clientSoftwareVersion: "1" };

test("idle connections and half-sent or trickled frames are closed by their deadlines", async () => {
  const lines: string[] = [];
  const b = await startTestBroker({ "connections.max.idle.ms": "300", "socket.request.read.timeout.ms": "300" }, undefined, lines);
  const started: RawClient[] = [];
  try {
    const idle = await RawClient.connect(b.port);
    started.push(idle);
    assert.equal((await idle.request(18, 3, apiVersions)).errorCode, 0);
    const twoBytes = await RawClient.connect(b.port);
    started.push(twoBytes);
    await twoBytes.sendRaw(new Uint8Array([0, 0]), false);
    const trickle = await RawClient.connect(b.port);
    started.push(trickle);
    const head = new Uint8Array(4);
    new DataView(head.buffer).setInt32(0, 100 * 1024 * 1024);
    await trickle.sendRaw(head, false);
    let trickling = true;
    const dripper = (async () => {
      // 1 KB every 50 ms, bounded: at most 200 drips (10 s)
      for (let i = 0; i < 200 && trickling; i++) {
        await trickle.sendRaw(new Uint8Array(1024), false);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await Promise.all([idle.closed, twoBytes.closed, trickle.closed]);
    trickling = false;
    await dripper;
    // A sharded node's line (logged by a shard thread) may reach the test after the client saw the close: wait for both.
    const readTimeouts = () => lines.filter((l) => l.includes("socket.request.read.timeout.ms=300")).length;
    for (let i = 0; i < 200 && readTimeouts() < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(readTimeouts(), 2, lines.join("\n"));
    const fresh = await RawClient.connect(b.port);
    started.push(fresh);
    assert.equal((await fresh.request(18, 3, apiVersions)).errorCode, 0, "the broker still serves");
  } finally {
    for (const c of started) c.close();
    await b.stop();
  }
});

/**
 * Connects once more and waits for the broker to close that connection (the positive event of a connection over a
 * per-address limit; its reset may even reach the client before the connect completes). An open one joins `clients`.
 */
async function closedAtOnce(port: number, clients: RawClient[]): Promise<void> {
  const extra = await RawClient.connect(port).catch((e: NodeJS.ErrnoException) => {
    assert.equal(e.code, "ECONNRESET", String(e));
    return null;
  });
  if (extra !== null) {
    clients.push(extra);
    await extra.closed;
  }
}

/** Waits (up to 30 s) until `count()` reaches `want`; fails with the broker's log otherwise. */
async function untilLogged(lines: string[], what: string, count: () => number, want: number): Promise<void> {
  for (let i = 0; i < 600 && count() < want; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(count(), want, `${what}:\n${lines.join("\n")}`);
}

test("max.connections and max.connections.per.ip altered at run time apply to the next connection; a raised limit serves the waiting one", { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const b = await startTestBroker({}, undefined, lines);
  const clients: RawClient[] = [];
  try {
    const threads = acceptingThreads(lines);
    const admin = await RawClient.connect(b.port);
    clients.push(admin);
    // IncrementalAlterConfigs of the cluster-wide broker default, as `kafka-configs --entity-type brokers --entity-default`
    const alter = async (configs: Record<string, string>) => {
      const r = await admin.request(44, 1, { resources: [{ resourceType: 4, resourceName: "", configs: Object.entries(configs).map(([name, value]) => ({ name, configOperation: 0, value })) }], validateOnly: false });
      assert.equal(r.responses[0].errorCode, 0, JSON.stringify(r.responses[0]));
    };
    await alter({ "max.connections": "2" });
    const second = await RawClient.connect(b.port);
    clients.push(second);
    assert.equal((await second.request(18, 3, apiVersions)).errorCode, 0);
    // the admin's and this one fill the new limit: every accepting thread says new connections wait
    const fullAt = (n: number) => () => lines.filter((l) => l.includes(`max.connections=${n} open connections: new connections to`)).length;
    await untilLogged(lines, "every accepting thread is full at the altered max.connections=2", fullAt(2), threads);
    const third = await RawClient.connect(b.port);
    clients.push(third);
    let thirdAnswered = false;
    const thirdAnswer = third.request(18, 3, apiVersions).then((r) => ((thirdAnswered = true), r));
    await untilLogged(lines, "the third connection is held", () => Math.min(1, lines.filter((l) => l.includes("holding connection from") && l.includes(": max.connections=2")).length), 1);
    assert.equal(thirdAnswered, false, "the third is not served at the limit");
    // raised while it waits: it is served although no connection closed
    await alter({ "max.connections": "3" });
    assert.equal((await thirdAnswer).errorCode, 0, "the third is served under the raised limit");
    // the thread that held it says so (another may see the node full again at 3 before it re-judges)
    await untilLogged(lines, "the holding thread serves again under max.connections=3", () => Math.min(1, lines.filter((l) => l.includes("below max.connections=3 again: serving new connections") && l.includes("1 waiting first")).length), 1);
    // a per-address limit set at run time: 127.0.0.1 already holds 3, so its next connection is closed at once
    await alter({ "max.connections": "100", "max.connections.per.ip": "3" });
    await closedAtOnce(b.port, clients);
    // and an override for the address lets it have more
    await alter({ "max.connections.per.ip.overrides": "127.0.0.1:5" });
    const allowed = await RawClient.connect(b.port);
    clients.push(allowed);
    assert.equal((await allowed.request(18, 3, apiVersions)).errorCode, 0, "served under the address's override");
    // values Kafka refuses: INVALID_REQUEST, nothing stored
    for (const [name, value] of [["max.connections", "-1"], ["max.connections.per.ip", "-2"], ["max.connections.per.ip.overrides", "127.0.0.1"]]) {
      const r = await admin.request(44, 1, { resources: [{ resourceType: 4, resourceName: "", configs: [{ name, configOperation: 0, value }] }], validateOnly: false });
      assert.equal(r.responses[0].errorCode, 42, `${name}=${value}: ${JSON.stringify(r.responses[0])}`);
    }
  } finally {
    for (const c of clients) c.close();
    await b.stop();
  }
});

test("max.connections.per.ip=0 is refused at run time unless overrides are set, as Kafka refuses it (no lock-out)", async () => {
  const b = await startTestBroker({});
  const clients: RawClient[] = [];
  try {
    const admin = await RawClient.connect(b.port);
    clients.push(admin);
    const alter = async (configs: [string, number, string | null][]) => {
      const r = await admin.request(44, 1, { resources: [{ resourceType: 4, resourceName: "", configs: configs.map(([name, configOperation, value]) => ({ name, configOperation, value })) }], validateOnly: false });
      return r.responses[0];
    };
    const zero = await alter([["max.connections.per.ip", 0, "0"]]);
    assert.equal(zero.errorCode, 42, JSON.stringify(zero));
    assert.match(zero.errorMessage ?? "", /max\.connections\.per\.ip can be set to zero only if max\.connections\.per\.ip\.overrides/);
    // nothing was stored: a new connection is served
    const next = await RawClient.connect(b.port);
    clients.push(next);
    assert.equal((await next.request(18, 3, apiVersions)).errorCode, 0, "a new connection is still served");
    // with overrides in the same change it is Kafka's allow-list: accepted, and the listed address is served
    assert.equal((await alter([["max.connections.per.ip", 0, "0"], ["max.connections.per.ip.overrides", 0, "127.0.0.1:10"]])).errorCode, 0);
    const listed = await RawClient.connect(b.port);
    clients.push(listed);
    assert.equal((await listed.request(18, 3, apiVersions)).errorCode, 0, "served under its override");
    // deleting the overrides would leave 0 alone: refused
    assert.equal((await alter([["max.connections.per.ip.overrides", 1, null]])).errorCode, 42);
  } finally {
    for (const c of clients) c.close();
    await b.stop();
  }
});

test("max.connections.per.ip overrides match the client address however it is spelled: an IPv4 client of a dual-stack listener", async () => {
  // a listener on [::] sees an IPv4 client as ::ffff:127.0.0.1; Kafka's ConnectionQuotas key by InetAddress, which
  // makes that 127.0.0.1, so the override written as 127.0.0.1 applies to it
  const b = await startTestBroker({ listeners: "PLAINTEXT://[::]:0", "advertised.listeners": "PLAINTEXT://127.0.0.1:0", "max.connections.per.ip": "1", "max.connections.per.ip.overrides": "127.0.0.1:2" });
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const c = await RawClient.connect(b.port);
      clients.push(c);
      assert.equal((await c.request(18, 3, apiVersions)).errorCode, 0, `connection ${i + 1} of the override's 2 is served`);
    }
    await closedAtOnce(b.port, clients);
  } finally {
    for (const c of clients) c.close();
    await b.stop();
  }
});

test("max.connections lowered below the open connections closes the least recently used ones until the broker holds no more", async () => {
  const lines: string[] = [];
  const b = await startTestBroker({}, undefined, lines);
  const clients: RawClient[] = [];
  try {
    const threads = acceptingThreads(lines);
    for (let i = 0; i < 3; i++) {
      const c = await RawClient.connect(b.port);
      clients.push(c);
      assert.equal((await c.request(18, 3, apiVersions)).errorCode, 0);
    }
    const closed = new Set<number>();
    for (const [i, c] of clients.entries()) void c.closed.then(() => closed.add(i));
    // lowered to 1 through the last connection, the most recently used: Kafka's processors close the least recently
    // used connection of each poll while the broker holds more than max.connections (a sharded node's threads
    // each close their own least recently used, so the asking connection may be one of the two; its answer may
    // then not arrive)
    const admin = clients[2];
    const answer = await admin.request(44, 1, { resources: [{ resourceType: 4, resourceName: "", configs: [{ name: "max.connections", configOperation: 0, value: "1" }] }], validateOnly: false }).catch(() => null);
    if (answer !== null) assert.equal(answer.responses[0].errorCode, 0, JSON.stringify(answer.responses[0]));
    for (let i = 0; i < 600 && closed.size < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(closed.size, 2, `two of three connections closed:\n${lines.join("\n")}`);
    const survivor = [0, 1, 2].find((i) => !closed.has(i))!;
    if (threads === 1) assert.equal(survivor, 2, "the most recently used connection stays");
    assert.equal((await clients[survivor].request(18, 3, apiVersions)).errorCode, 0, "the one left is served");
    assert.equal(closed.size, 2, "no more closed than needed");
    // a sharded node's line (logged by a shard thread) may reach the test after the client saw the close
    const evictions = () => lines.filter((l) => /closing connection .*, the least recently used: more than max.connections=1 open connections/.test(l)).length;
    for (let i = 0; i < 200 && evictions() < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(evictions(), 2, lines.join("\n"));
  } finally {
    for (const c of clients) c.close();
    await b.stop();
  }
});

test("a host name in max.connections.per.ip.overrides stands for the address it resolves to, in the config and set at run time", async () => {
  // Kafka resolves each override host (InetAddress.getByName) when the list is set; localhost is 127.0.0.1 here
  const b = await startTestBroker({ "max.connections.per.ip": "1", "max.connections.per.ip.overrides": "localhost:2" });
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const c = await RawClient.connect(b.port);
      clients.push(c);
      assert.equal((await c.request(18, 3, apiVersions)).errorCode, 0, `connection ${i + 1} of localhost's 2 is served`);
    }
    await closedAtOnce(b.port, clients);
    // set at run time: the list takes effect once its host names have resolved (a connection over the old limit of
    // 2 is closed until then), so the test connects until a third one is served
    const admin = clients[0];
    const r = await admin.request(44, 1, { resources: [{ resourceType: 4, resourceName: "", configs: [{ name: "max.connections.per.ip.overrides", configOperation: 0, value: "localhost:4" }] }], validateOnly: false });
    assert.equal(r.responses[0].errorCode, 0, JSON.stringify(r.responses[0]));
    let served = false;
    for (let i = 0; i < 100 && !served; i++) {
      const c = await RawClient.connect(b.port).catch(() => null);
      if (c === null) continue;
      clients.push(c);
      served = await c.request(18, 3, apiVersions).then((a) => a.errorCode === 0, () => false);
      if (!served) await new Promise((res) => setTimeout(res, 50));
    }
    assert.ok(served, "a third connection from 127.0.0.1 is served under localhost:4");
  } finally {
    for (const c of clients) c.close();
    await b.stop();
  }
});

test("max.connections.per.ip.overrides with a host Kafka's host pattern refuses is refused, in the config and at run time", async () => {
  assert.throws(() => new BrokerConfig(new Map([["max.connections.per.ip.overrides", "bad/host:2"]])), /max\.connections\.per\.ip\.overrides contains invalid addresses : bad\/host/);
  const b = await startTestBroker({});
  const clients: RawClient[] = [];
  try {
    const admin = await RawClient.connect(b.port);
    clients.push(admin);
    const r = await admin.request(44, 1, { resources: [{ resourceType: 4, resourceName: "", configs: [{ name: "max.connections.per.ip.overrides", configOperation: 0, value: "127.0.0.1:5,bad host:2" }] }], validateOnly: false });
    assert.equal(r.responses[0].errorCode, 42, JSON.stringify(r.responses[0]));
    assert.match(r.responses[0].errorMessage ?? "", /contains invalid addresses : bad host/);
  } finally {
    for (const c of clients) c.close();
    await b.stop();
  }
});

test("max.connections.per.ip and its overrides close the connection over the address's limit", async () => {
  for (const [overrides, allowed] of [["", 1], ["127.0.0.1:3", 3]] as const) {
    const b = await startTestBroker({ "max.connections.per.ip": "1", "max.connections.per.ip.overrides": overrides });
    const clients: RawClient[] = [];
    try {
      // Each one answered before the next connects: a connect completes in the kernel before the broker accepts it,
      // and the threads of a sharded node accept in no set order, so only an answered connection is surely counted.
      for (let i = 0; i < allowed; i++) {
        const c = await RawClient.connect(b.port);
        clients.push(c);
        assert.equal((await c.request(18, 3, apiVersions)).errorCode, 0, "those within the limit are served");
      }
      // The positive event: the broker closed the one over the limit.
      await closedAtOnce(b.port, clients);
      for (const c of clients.slice(0, allowed)) assert.equal((await c.request(18, 3, apiVersions)).errorCode, 0, "and still are");
    } finally {
      for (const c of clients) c.close();
      await b.stop();
    }
  }
});

test("unknown config keys are warned about; malformed values refuse to start and name the key", async () => {
  const lines: string[] = [];
  const b = await startTestBroker({ "max.conections": "100" }, undefined, lines);
  await b.stop();
  assert.ok(lines.some((l) => l.startsWith("WARN") && l.includes("'max.conections'") && l.includes("isn't a known config")), lines.join("\n"));
  for (const [key, value] of [["max.connections", "lots"], ["connections.max.idle.ms", "99999999999999999999"], ["max.connections.per.ip.overrides", "127.0.0.1"], ["queued.max.request.bytes", "1000"], ["listeners", "127.0.0.1:9092"]]) {
    assert.throws(() => new BrokerConfig(new Map([[key, value]])), (e: Error) => e.message.includes(key.split(".")[0]), `${key}=${value}`);
  }
});
