/**
 * A full listener holds new connections as Kafka's does (its acceptor blocks in waitForConnectionSlot, the
 * connections behind it wait in the listen backlog): a client connecting at `max.connections` has its TCP connect
 * succeed and its first request answered once another connection closes, not refused. At most
 * `socket.listen.backlog.size` connections wait per listening socket (each accepting thread of a sharded node has
 * its own); more are closed at once, and a connection from an address at its `max.connections.per.ip` is closed at
 * once even while the listener is full. The time the listener waited for a slot counts in /metrics as Kafka's
 * AcceptorBlockedPercent meter does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { startTestBroker } from "../support/broker.ts";
import { startHttpTestBroker } from "../support/http-broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { acceptingThreads } from "../support/sharded-test-broker.ts";
import { waitUntil } from "../transactions/wait-until.ts";
import { openFilesLimit } from "../../src/platform/process-limits.ts";
import { RESERVED_FDS } from "../../src/storage/file-handle-cache.ts";
import { testShards } from "../support/broker-process.ts";

const apiVersions = { clientSoftwareName: "t", clientSoftwareVersion: "1" };

/** Lines saying a listener holds a connection unread at `limit` (e.g. "max.connections=2"). */
const holding = (lines: string[], limit: string) => lines.filter((l) => l.includes("holding connection from") && l.includes(`: ${limit}`)).length;

/** Opens `n` connections, each answered, and returns them. */
async function served(port: number, n: number): Promise<RawClient[]> {
  const out: RawClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = await RawClient.connect(port);
    out.push(c);
    assert.equal((await c.request(18, 3, apiVersions)).errorCode, 0, `connection ${i + 1} of ${n} is served`);
  }
  return out;
}

test("a kafkajs client connecting while the broker is at max.connections is answered once another connection closes; the wait shows as acceptor blocked time", { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const b = await startHttpTestBroker({ "max.connections": "2" }, { logLines: lines });
  const clients: RawClient[] = [];
  const kafka = new Kafka({ clientId: "full-listener", brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 30_000, requestTimeout: 30_000 });
  const admin = kafka.admin();
  try {
    clients.push(...(await served(Number(b.bootstrap.split(":")[1]), 2)));
    // no retries: a refused connect (the listener closed its socket at the limit) fails the connect at once
    let connected: "pending" | "connected" | string = "pending";
    const connecting = admin.connect().then(() => (connected = "connected"), (e: Error) => (connected = String(e)));
    await waitUntil(() => holding(lines, "max.connections=2") >= 1 || connected !== "pending", 30_000, () => `the broker holds kafkajs's connection:\n${lines.join("\n")}`);
    assert.equal(connected, "pending", `kafkajs is held, not refused or served:\n${lines.join("\n")}`);
    // a connection closes: the one waiting is served (kafkajs's later connections find room as the others close)
    for (const c of clients) c.close();
    await connecting;
    assert.equal(connected, "connected", `kafkajs connected once a slot freed:\n${lines.join("\n")}`);
    await admin.createTopics({ topics: [{ topic: "held-then-served", numPartitions: 1 }] });
    assert.ok((await admin.listTopics()).includes("held-then-served"));
    const page = await (await fetch(`${b.url}/metrics`)).text();
    const blocked = /^kafka_network_acceptor_acceptorblockedpercent_total\{listener="PLAINTEXT"\} (\S+)$/m.exec(page);
    assert.ok(blocked !== null && Number(blocked[1]) > 0, `the listener's wait for a slot counts as blocked time:\n${page.split("\n").filter((l) => l.includes("acceptor")).join("\n")}`);
  } finally {
    await admin.disconnect();
    for (const c of clients) c.close();
    await b.stop();
  }
});

test("at max.connections a new connection waits unread and is answered when one closes; past socket.listen.backlog.size they close at once; max.connections.per.ip still closes at once", { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const backlog = 2;
  const b = await startTestBroker({ "max.connections": "3", "socket.listen.backlog.size": String(backlog), "max.connections.per.ip.overrides": "127.0.0.2:1" }, undefined, lines);
  const clients: RawClient[] = [];
  try {
    const threads = acceptingThreads(lines);
    const full = await served(b.port, 2);
    clients.push(...full);
    // 127.0.0.2 takes the third slot and reaches its own limit of 1
    const other = await RawClient.connect(b.port, "127.0.0.2");
    clients.push(other);
    assert.equal((await other.request(18, 3, apiVersions)).errorCode, 0);
    // the broker is full: the next connection's TCP connect succeeds, its request waits
    const first = await RawClient.connect(b.port);
    clients.push(first);
    let firstAnswered = false;
    const firstAnswer = first.request(18, 3, apiVersions).then((r) => ((firstAnswered = true), r));
    await waitUntil(() => holding(lines, "max.connections=3") >= 1, 30_000, () => `the fourth connection is held:\n${lines.join("\n")}`);
    assert.equal(firstAnswered, false, "not answered while the broker is full");
    // an address at its own limit is closed at once, full broker or not (not held)
    const overIp = await RawClient.connect(b.port, "127.0.0.2").catch((e: NodeJS.ErrnoException) => {
      assert.equal(e.code, "ECONNRESET", String(e));
      return null;
    });
    if (overIp !== null) {
      clients.push(overIp);
      await overIp.closed;
    }
    await waitUntil(() => lines.some((l) => l.includes("refusing connection from 127.0.0.2") && l.includes("max.connections.per.ip reached")), 30_000, () => lines.join("\n"));
    // fill every accepting thread's queue and one more: at least one connection is closed at once (every thread
    // holds at most `backlog`; the kernel spreads a sharded node's connections over its threads)
    const more: RawClient[] = [];
    const closedAtOnce: RawClient[] = [];
    for (let i = 0; i < backlog * threads; i++) {
      const c = await RawClient.connect(b.port).catch(() => null);
      if (c === null) continue; // reset before the connect completed: closed at once
      more.push(c);
      clients.push(c);
      void c.closed.then(() => closedAtOnce.push(c));
    }
    await waitUntil(() => lines.some((l) => l.includes(`socket.listen.backlog.size=${backlog} connections already wait`)) && (closedAtOnce.length > 0 || more.length < backlog * threads), 30_000, () => `a connection past the backlog closed:\n${lines.join("\n")}`);
    if (threads === 1) assert.equal(closedAtOnce.length + backlog * threads - more.length, 1, "one past the backlog (the first waiting and one more fill it)");
    const closedBefore = closedAtOnce.length;
    // a connection closes: the oldest waiting one is served (on a sharded node each accepting thread serves its own
    // waiting ones oldest first, and a freed slot goes to whichever thread takes it first)
    if (threads === 1) {
      full[0].close();
      assert.equal((await firstAnswer).errorCode, 0, "the held connection is answered once one closed");
    }
    for (const c of [...full, other]) c.close();
    // each other held one, once answered, closes and so makes room for the next (three slots are free, `first` keeps
    // one); the ones closed at once answer nothing (on a sharded node more of them may have closed since the wait)
    const outcomes = await Promise.all(more.map((c) => Promise.race([c.closed.then(() => "closed"), c.request(18, 3, apiVersions).then((r) => (c.close(), r.errorCode === 0 ? "served" : `error ${r.errorCode}`), () => "closed")])));
    const closed = outcomes.filter((o) => o === "closed").length;
    assert.deepEqual(outcomes.filter((o) => o !== "closed"), outcomes.filter((o) => o === "served"), "every held connection is served once slots free");
    // (a connection reset before its connect completed is not in `more`)
    const resetAtConnect = backlog * threads - more.length;
    assert.ok(closed >= closedBefore && closed + resetAtConnect >= 1, `${closed} closed at once, ${resetAtConnect} reset at connect`);
    if (threads === 1) assert.equal(closed + resetAtConnect, 1, "exactly the one past the backlog was closed");
    assert.equal((await firstAnswer).errorCode, 0, "the first held connection is served");
    assert.equal((await first.request(18, 3, apiVersions)).errorCode, 0, "and stays served");
  } finally {
    for (const c of clients) c.close();
    await b.stop();
  }
});

/**
 * `log.open.files.max` that leaves the node at least `fds` (and fewer than `fds` + shards) descriptors for connections
 * (src/storage/file-handle-cache.ts: logOpenFilesBudget; a sharded node's shardedFdBudget reserves one share per
 * thread and splits the log files evenly over its shards).
 */
function logFilesLeaving(fdLimit: number, fds: number): number {
  const shards = testShards();
  const reserved = shards === 1 ? RESERVED_FDS : RESERVED_FDS * (shards + 1);
  return shards * Math.floor((fdLimit - reserved - fds) / shards);
}

const fdLimit = openFilesLimit();

test("connections closed at their address's max.connections.per.ip while the listener has room give back the descriptor they held: the listener serves on", { skip: fdLimit === null ? "the open-files limit is unknown here" : false, timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const fds = 16;
  const b = await startTestBroker({ "log.open.files.max": String(logFilesLeaving(fdLimit!, fds)), "max.connections.per.ip.overrides": "127.0.0.2:1" }, undefined, lines);
  const clients: RawClient[] = [];
  try {
    const first = await RawClient.connect(b.port, "127.0.0.2");
    clients.push(first);
    assert.equal((await first.request(18, 3, apiVersions)).errorCode, 0);
    // more connections from 127.0.0.2 than there are descriptors for connections: each is closed (the listener has
    // room, so its address's limit refuses it when its turn comes, at once)
    for (let i = 0; i < 2 * fds; i++) {
      const extra = await RawClient.connect(b.port, "127.0.0.2").catch((e: NodeJS.ErrnoException) => {
        assert.equal(e.code, "ECONNRESET", String(e));
        return null;
      });
      if (extra === null) continue;
      clients.push(extra);
      await extra.closed;
    }
    assert.ok(lines.some((l) => l.includes("refusing connection from 127.0.0.2") && l.includes("max.connections.per.ip reached")), lines.join("\n"));
    // another address is served: the refused connections hold no descriptor any more
    const answer = await RawClient.connect(b.port).then((other) => (clients.push(other), other.request(18, 3, apiVersions))).catch((e: Error) => e);
    assert.ok(!(answer instanceof Error) && answer.errorCode === 0, `served after ${2 * fds} refusals (${String(answer)}):\n${lines.filter((l) => l.includes("descriptor")).join("\n")}`);
  } finally {
    for (const c of clients) c.close();
    await b.stop();
  }
});
