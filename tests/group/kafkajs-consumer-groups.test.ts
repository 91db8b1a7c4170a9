/**
 * Consumer groups with kafkajs against a real in-process broker over TCP: three members share a 6-partition topic
 * and read every record exactly once while committing; a killed member's partitions move to the others after the
 * session timeout with nothing skipped; two groups each read everything; consumers resume from committed offsets,
 * also across a broker restart; lag and DeleteGroups through the admin APIs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { Kafka, logLevel, type Consumer } from "kafkajs";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { committedOffsets, describeGroup, listGroups, waitFor, IN_PROCESS } from "../support/group-state.ts";
import { BUN, ConsumerProcess, FIXTURES, killAll, sleep, waitUntil } from "./consumer-process.ts";

const TEST_TIMEOUT = { timeout: 120_000 };
const OVERRIDES = { "group.min.session.timeout.ms": "1000" };

interface Seen {
  assigned: number[];
  records: { p: number; o: number; v: string }[];
}

function client(b: TestBroker): Kafka {
  return new Kafka({ clientId: "group-test", brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
}

async function produce(kafka: Kafka, topic: string, prefix: string, count: number, partitions: number): Promise<string[]> {
  const producer = kafka.producer();
  await producer.connect();
  const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ partition: i % partitions, value })) });
  await producer.disconnect();
  return values;
}

async function startConsumer(kafka: Kafka, groupId: string, topic: string, seen: Seen, session = 6000): Promise<Consumer> {
  const c = kafka.consumer({ groupId, sessionTimeout: session, heartbeatInterval: 300, rebalanceTimeout: 10_000, maxWaitTimeInMs: 200 });
  c.on(c.events.GROUP_JOIN, (e) => {
    seen.assigned = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
  });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({
    autoCommitThreshold: 1,
    eachMessage: async ({ partition, message }) => {
      seen.records.push({ p: partition, o: Number(message.offset), v: message.value!.toString() });
    },
  });
  return c;
}

/** Waits until the group is Stable with `members` members. */
async function waitStable(b: TestBroker, groupId: string, members: number, timeoutMs = 30_000): Promise<void> {
  const d = () => describeGroup(b.port, groupId);
  await waitFor(async () => {
    const now = await d();
    return now.state === "Stable" && now.members.length === members;
  }, timeoutMs, async () => `group ${groupId} Stable with ${members} members (now ${JSON.stringify(await d())})`);
}

/** Committed offsets of a group by partition of `topic`. */
function committed(b: TestBroker, groupId: string, topic: string, partitions: number): Promise<bigint[]> {
  return committedOffsets(b.port, groupId, topic, Array.from({ length: partitions }, (_, i) => i));
}

test("kafkajs: three members of one group on a 6-partition topic get two partitions each and read every record once while committing", TEST_TIMEOUT, async () => {
  const b = await startTestBroker(OVERRIDES);
  const consumers: Consumer[] = [];
  try {
    const kafka = client(b);
    await b.broker.createTopic("orders", 6, 1, {}, false);
    const seen: Seen[] = [0, 1, 2].map(() => ({ assigned: [], records: [] }));
    for (const s of seen) consumers.push(await startConsumer(kafka, "g3", "orders", s));
    await waitStable(b, "g3", 3);
    await waitUntil(() => seen.every((s) => s.assigned.length === 2), 20_000, "every member to have two partitions");
    assert.deepEqual(seen.flatMap((s) => s.assigned).sort(), [0, 1, 2, 3, 4, 5]);
    const values = await produce(kafka, "orders", "o", 600, 6);
    await waitUntil(() => seen.reduce((n, s) => n + s.records.length, 0) >= 600, 30_000, "600 records");
    await waitFor(async () => (await committed(b, "g3", "orders", 6)).every((o) => o === 100n), 15_000, "all offsets committed");
    await sleep(300);
    const all = seen.flatMap((s) => s.records.map((r) => r.v));
    assert.equal(all.length, 600, "no record delivered twice");
    assert.deepEqual(new Set(all), new Set(values));
    for (const s of seen) for (const r of s.records) assert.ok(s.assigned.includes(r.p), `record of partition ${r.p} went to its owner`);
    const members = (await describeGroup(b.port, "g3")).members;
    assert.equal(members.length, 3);
    assert.ok(members.every((m) => m.clientHost === "/127.0.0.1"));
    if (IN_PROCESS) {
      const lag = await b.broker.groups.describeGroupLag("g3");
      assert.equal(lag.length, 6);
      assert.ok(lag.every((row) => row.lag === 0n && row.memberId !== null && row.host === "/127.0.0.1"));
    }
  } finally {
    await Promise.all(consumers.map((c) => c.disconnect().catch(() => {})));
    await b.stop();
  }
});

test("kafkajs: a killed member's partitions go to the others after the session timeout and nothing is skipped", TEST_TIMEOUT, async () => {
  const b = await startTestBroker(OVERRIDES);
  const procs: ConsumerProcess[] = [];
  try {
    const kafka = client(b);
    await b.broker.createTopic("jobs", 6, 1, {}, false);
    const settings = JSON.stringify({ bootstrap: b.bootstrap, group: "gk", topic: "jobs", session: 3000 });
    for (let i = 0; i < 3; i++) procs.push(new ConsumerProcess(`kafkajs-${i}`, BUN, [path.join(FIXTURES, "kafkajs-group-consumer.ts"), settings]));
    await waitStable(b, "gk", 3, 60_000);
    const lastAssigned = (p: ConsumerProcess) => p.events().filter((e) => e.event === "assign").at(-1)?.partitions as number[] | undefined;
    await waitUntil(() => procs.every((p) => lastAssigned(p)?.length === 2), 20_000, "two partitions each");
    const first = await produce(kafka, "jobs", "a", 300, 6);
    const values = (ps: ConsumerProcess[]) => new Set(ps.flatMap((p) => p.events().filter((e) => e.event === "record").map((e) => e.v as string)));
    await waitUntil(() => values(procs).size === 300, 30_000, "first 300 records");
    const victim = procs[0];
    const victimPartitions = lastAssigned(victim)!;
    await victim.stop("SIGKILL");
    const killedAt = Date.now();
    const second = await produce(kafka, "jobs", "b", 300, 6);
    const survivors = procs.slice(1);
    await waitUntil(() => {
      const got = values(survivors);
      return second.every((v) => got.has(v));
    }, 40_000, "the survivors to read every record produced after the kill");
    const takeover = Date.now() - killedAt;
    const union = new Set(survivors.flatMap((p) => lastAssigned(p) ?? []));
    assert.deepEqual([...union].sort(), [0, 1, 2, 3, 4, 5], "the survivors own every partition");
    for (const p of victimPartitions) assert.ok(union.has(p));
    const everything = values(procs);
    for (const v of [...first, ...second]) assert.ok(everything.has(v), `record ${v} was read`);
    assert.ok(takeover >= 2000, `partitions moved only after the session timeout (${takeover} ms)`);
  } finally {
    await killAll(procs);
    await b.stop();
  }
});

test("kafkajs: two groups on the same topic each read every record", TEST_TIMEOUT, async () => {
  const b = await startTestBroker(OVERRIDES);
  const consumers: Consumer[] = [];
  try {
    const kafka = client(b);
    await b.broker.createTopic("shared", 4, 1, {}, false);
    const ga: Seen = { assigned: [], records: [] };
    const gb: Seen[] = [{ assigned: [], records: [] }, { assigned: [], records: [] }];
    consumers.push(await startConsumer(kafka, "ga", "shared", ga));
    for (const s of gb) consumers.push(await startConsumer(kafka, "gb", "shared", s));
    await waitStable(b, "ga", 1);
    await waitStable(b, "gb", 2);
    const values = await produce(kafka, "shared", "s", 200, 4);
    await waitUntil(() => ga.records.length >= 200 && gb[0].records.length + gb[1].records.length >= 200, 30_000, "both groups to read 200");
    await sleep(300);
    assert.deepEqual(new Set(ga.records.map((r) => r.v)), new Set(values));
    assert.equal(ga.records.length, 200);
    const bVals = gb.flatMap((s) => s.records.map((r) => r.v));
    assert.equal(bVals.length, 200);
    assert.deepEqual(new Set(bVals), new Set(values));
    const groups = (await listGroups(b.port)).map((g) => g.groupId).sort();
    assert.deepEqual(groups, ["ga", "gb"]);
  } finally {
    await Promise.all(consumers.map((c) => c.disconnect().catch(() => {})));
    await b.stop();
  }
});

test("kafkajs: consumers resume from committed offsets after a restart of the consumer and of the broker", TEST_TIMEOUT, async () => {
  let b = await startTestBroker(OVERRIDES);
  let consumer: Consumer | null = null;
  const dir = b.dir;
  try {
    let kafka = client(b);
    await b.broker.createTopic("resume", 3, 1, {}, false);
    const first = await produce(kafka, "resume", "r1", 90, 3);
    const s1: Seen = { assigned: [], records: [] };
    consumer = await startConsumer(kafka, "gr", "resume", s1);
    await waitUntil(() => s1.records.length >= 90, 30_000, "first 90");
    await waitFor(async () => (await committed(b, "gr", "resume", 3)).every((o) => o === 30n), 15_000, "commits");
    await consumer.disconnect();
    consumer = null;
    assert.deepEqual(new Set(s1.records.map((r) => r.v)), new Set(first));

    const second = await produce(kafka, "resume", "r2", 30, 3);
    const s2: Seen = { assigned: [], records: [] };
    consumer = await startConsumer(kafka, "gr", "resume", s2);
    await waitUntil(() => s2.records.length >= 30, 30_000, "the next 30");
    await waitFor(async () => (await committed(b, "gr", "resume", 3)).every((o) => o === 40n), 15_000, "commits");
    await sleep(300);
    assert.deepEqual(s2.records.map((r) => r.v).sort(), [...second].sort(), "only the new records after a consumer restart");
    await consumer.disconnect();
    consumer = null;

    const third = await produce(kafka, "resume", "r3", 30, 3);
    await b.stop({ keepDir: true });
    b = await startTestBroker(OVERRIDES, dir);
    kafka = client(b);
    assert.equal((await describeGroup(b.port, "gr")).state, "Empty", "the group survived the restart");
    assert.deepEqual(await committed(b, "gr", "resume", 3), [40n, 40n, 40n]);
    const s3: Seen = { assigned: [], records: [] };
    consumer = await startConsumer(kafka, "gr", "resume", s3);
    await waitUntil(() => s3.records.length >= 30, 30_000, "the 30 produced before the broker restart");
    await sleep(300);
    assert.deepEqual(s3.records.map((r) => r.v).sort(), [...third].sort(), "only the records after the committed offsets");
  } finally {
    await consumer?.disconnect().catch(() => {});
    await b.stop();
  }
});

test("kafkajs admin: lag after producing more, and DeleteGroups refuses a live group then deletes the empty one", TEST_TIMEOUT, async () => {
  const b = await startTestBroker(OVERRIDES);
  let consumer: Consumer | null = null;
  const kafka = client(b);
  const admin = kafka.admin();
  try {
    await admin.connect();
    await b.broker.createTopic("lagging", 3, 1, {}, false);
    await produce(kafka, "lagging", "x", 60, 3);
    const s: Seen = { assigned: [], records: [] };
    consumer = await startConsumer(kafka, "gl", "lagging", s);
    await waitFor(async () => (await committed(b, "gl", "lagging", 3)).every((o) => o === 20n), 30_000, "60 consumed and committed");

    const refused = await admin.deleteGroups(["gl"]).then(
      () => null,
      (e: { groups?: { groupId: string; errorCode: number }[] }) => e,
    );
    assert.ok(refused !== null, "deleting a group with members fails");
    assert.equal(refused.groups?.[0]?.errorCode, 68, "NON_EMPTY_GROUP");
    const described = await admin.describeGroups(["gl"]);
    assert.equal(described.groups[0].state, "Stable");
    assert.equal(described.groups[0].members.length, 1);

    await consumer.disconnect();
    consumer = null;
    await produce(kafka, "lagging", "y", 25, 3); // partitions 0,1 get 9 and 8... (25 = 9 + 8 + 8)
    if (IN_PROCESS) {
      const rows = await b.broker.groups.describeGroupLag("gl");
      assert.deepEqual(rows.map((r) => [r.partition, r.committed, r.logEndOffset, r.lag]), [
        [0, 20n, 29n, 9n],
        [1, 20n, 28n, 8n],
        [2, 20n, 28n, 8n],
      ]);
      assert.ok(rows.every((r) => r.memberId === null), "no member once the consumer left");
    }
    // The same numbers through the admin APIs a CLI uses (OffsetFetch + ListOffsets).
    const fetched = await admin.fetchOffsets({ groupId: "gl", topics: ["lagging"] });
    const ends = await admin.fetchTopicOffsets("lagging");
    const lagByPartition = fetched[0].partitions.map((p) => Number(ends.find((e) => e.partition === p.partition)!.offset) - Number(p.offset));
    assert.deepEqual(lagByPartition, [9, 8, 8]);

    const deleted = await admin.deleteGroups(["gl"]);
    assert.equal(deleted[0].errorCode, 0);
    const after = await admin.fetchOffsets({ groupId: "gl", topics: ["lagging"] });
    assert.ok(after[0].partitions.every((p) => p.offset === "-1"));
    assert.deepEqual((await admin.listGroups()).groups, []);
  } finally {
    await consumer?.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    await b.stop();
  }
});
