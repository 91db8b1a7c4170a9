/**
 * Consumer groups with librdkafka through confluent-kafka-python (consumers run as subprocesses): three members on a
 * 6-partition topic read every record once while committing (eager and cooperative-sticky assignors); a SIGKILLed
 * member's partitions move to the others after the session timeout with nothing skipped; a static member
 * (`group.instance.id`) restarted within its session timeout gets its partitions back without rebalancing the others.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { PYTHON, havePythonModule } from "../support/proc.ts";
import { committedOffsets, describeGroup, waitFor, IN_PROCESS } from "../support/group-state.ts";
import { ConsumerProcess, FIXTURES, killAll, sleep, waitUntil } from "./consumer-process.ts";

const skip = (await havePythonModule("confluent_kafka")) ? false : "confluent-kafka-python is missing for /usr/bin/python3 (tests/setup.sh installs python3-confluent-kafka)";
const TEST_TIMEOUT = { timeout: 150_000, skip };
const OVERRIDES = { "group.min.session.timeout.ms": "1000" };
const SCRIPT = path.join(FIXTURES, "librdkafka_group_consumer.py");

function pyConsumer(name: string, b: TestBroker, settings: Record<string, unknown>): ConsumerProcess {
  return new ConsumerProcess(name, PYTHON, [SCRIPT, JSON.stringify({ bootstrap: b.bootstrap, client: name, ...settings })]);
}

async function produce(b: TestBroker, topic: string, prefix: string, count: number, partitions: number): Promise<string[]> {
  const kafka = new Kafka({ clientId: "producer", brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ partition: i % partitions, value })) });
  await producer.disconnect();
  return values;
}

/** The partitions a consumer owns now, replaying its assign/revoke events (incremental for cooperative). */
function owned(p: ConsumerProcess, incremental: boolean): number[] {
  let set = new Set<number>();
  for (const e of p.events()) {
    if (e.event === "assign") {
      if (!incremental) set = new Set();
      for (const x of e.partitions as number[]) set.add(x);
    } else if (e.event === "revoke") {
      if (!incremental) set = new Set();
      else for (const x of e.partitions as number[]) set.delete(x);
    }
  }
  return [...set].sort((a, b) => a - b);
}

function records(ps: readonly ConsumerProcess[]): { p: number; o: number; v: string }[] {
  return ps.flatMap((p) => p.events().filter((e) => e.event === "record") as unknown as { p: number; o: number; v: string }[]);
}

async function waitStable(b: TestBroker, groupId: string, members: number, timeoutMs = 45_000): Promise<void> {
  await waitFor(async () => {
    const d = await describeGroup(b.port, groupId);
    return d.state === "Stable" && d.members.length === members;
  }, timeoutMs, `group ${groupId} Stable with ${members} members`);
}

function committed(b: TestBroker, groupId: string, topic: string, partitions: number): Promise<bigint[]> {
  return committedOffsets(b.port, groupId, topic, Array.from({ length: partitions }, (_, i) => i));
}

for (const strategy of ["range", "cooperative-sticky"] as const) {
  test(`librdkafka (${strategy}): three members get two partitions each and read every record once while committing`, TEST_TIMEOUT, async () => {
    const b = await startTestBroker(OVERRIDES);
    const procs: ConsumerProcess[] = [];
    const incremental = strategy === "cooperative-sticky";
    try {
      await b.broker.createTopic("events", 6, 1, {}, false);
      for (let i = 0; i < 3; i++) procs.push(pyConsumer(`py-${i}`, b, { group: "gp", topic: "events", strategy }));
      await waitStable(b, "gp", 3);
      await waitUntil(() => procs.every((p) => owned(p, incremental).length === 2), 30_000, "two partitions each");
      assert.deepEqual(procs.flatMap((p) => owned(p, incremental)).sort(), [0, 1, 2, 3, 4, 5]);
      const values = await produce(b, "events", "e", 600, 6);
      await waitUntil(() => records(procs).length >= 600, 45_000, () => `600 records (have ${records(procs).length})`);
      await waitFor(async () => (await committed(b, "gp", "events", 6)).every((o) => o === 100n), 15_000, "all offsets committed");
      await sleep(300);
      const got = records(procs);
      assert.equal(got.length, 600, "no record delivered twice");
      assert.deepEqual(new Set(got.map((r) => r.v)), new Set(values));
      for (const p of procs) {
        const mine = owned(p, incremental);
        for (const e of p.events()) if (e.event === "record") assert.ok(mine.includes(e.p), `${p.name} read partition ${e.p} it does not own`);
        assert.ok(!p.events().some((e) => e.event === "error"), `${p.name}: ${JSON.stringify(p.events().filter((e) => e.event === "error"))}`);
      }
      if (incremental) {
        // Cooperative: a member never loses a partition it keeps; revocations name only moved partitions.
        for (const p of procs) {
          for (const e of p.events()) if (e.event === "revoke") assert.ok((e.partitions as number[]).length < 6, "no full revocation");
        }
      }
      const d = await describeGroup(b.port, "gp");
      assert.equal(d.protocolData, strategy);
    } finally {
      await killAll(procs);
      await b.stop();
    }
  });
}

test("librdkafka: a SIGKILLed member's partitions move to the others after the session timeout and nothing is skipped", TEST_TIMEOUT, async () => {
  const b = await startTestBroker(OVERRIDES);
  const procs: ConsumerProcess[] = [];
  try {
    await b.broker.createTopic("work", 6, 1, {}, false);
    for (let i = 0; i < 3; i++) procs.push(pyConsumer(`py-${i}`, b, { group: "gw", topic: "work", session: 3000 }));
    await waitStable(b, "gw", 3);
    await waitUntil(() => procs.every((p) => owned(p, false).length === 2), 30_000, "two partitions each");
    const first = await produce(b, "work", "a", 300, 6);
    await waitUntil(() => new Set(records(procs).map((r) => r.v)).size === 300, 30_000, "first 300");
    const victim = procs[0];
    const lost = owned(victim, false);
    await victim.stop("SIGKILL");
    const killedAt = Date.now();
    const second = await produce(b, "work", "b", 300, 6);
    const survivors = procs.slice(1);
    await waitUntil(() => {
      const got = new Set(records(survivors).map((r) => r.v));
      return second.every((v) => got.has(v));
    }, 45_000, "the survivors to read everything produced after the kill");
    const took = Date.now() - killedAt;
    assert.deepEqual(survivors.flatMap((p) => owned(p, false)).sort(), [0, 1, 2, 3, 4, 5]);
    const all = new Set(records(procs).map((r) => r.v));
    for (const v of [...first, ...second]) assert.ok(all.has(v), `record ${v} was read`);
    assert.ok(took >= 2000, `takeover waited for the session timeout (${took} ms)`);
    assert.ok(lost.every((p) => survivors.some((s) => owned(s, false).includes(p))));
    if (IN_PROCESS) assert.equal((await b.broker.groups.describeGroupLag("gw")).length, 6);
    await waitFor(async () => (await committed(b, "gw", "work", 6)).every((o) => o === 100n), 15_000, "survivors committed everything");
  } finally {
    await killAll(procs);
    await b.stop();
  }
});

test("librdkafka: a static member restarted within its session timeout gets the same partitions without rebalancing the other", TEST_TIMEOUT, async () => {
  const logs: string[] = [];
  const b = await startTestBroker(OVERRIDES, undefined, logs);
  const procs: ConsumerProcess[] = [];
  try {
    await b.broker.createTopic("static", 6, 1, {}, false);
    const settings = (instance: string) => ({ group: "gs", topic: "static", instance, session: 10_000 });
    const a = pyConsumer("static-a", b, settings("inst-a"));
    const other = pyConsumer("static-b", b, settings("inst-b"));
    procs.push(a, other);
    await waitStable(b, "gs", 2);
    await waitUntil(() => owned(a, false).length === 3 && owned(other, false).length === 3, 30_000, "three partitions each");
    await produce(b, "static", "s1", 60, 6);
    await waitUntil(() => records(procs).length >= 60, 30_000, "first 60");
    const aPartitions = owned(a, false);
    const otherEvents = other.events().filter((e) => e.event === "assign" || e.event === "revoke").length;
    const rebalancesBefore = logs.filter((l) => l.includes("preparing to rebalance")).length;
    const membersBefore = (await describeGroup(b.port, "gs")).members.map((m) => m.memberId);

    await a.stop("SIGTERM"); // a static member leaves no LeaveGroup behind
    assert.equal((await describeGroup(b.port, "gs")).members.length, 2, "the stopped static member keeps its place");
    const second = await produce(b, "static", "s2", 60, 6);
    const a2 = pyConsumer("static-a2", b, settings("inst-a"));
    procs.push(a2);
    await waitUntil(() => owned(a2, false).length > 0, 30_000, "the restarted member's assignment");
    assert.deepEqual(owned(a2, false), aPartitions, "same partitions as before the restart");
    await waitUntil(() => {
      const got = new Set(records([a2, other]).map((r) => r.v));
      return second.every((v) => got.has(v));
    }, 30_000, "records produced while the member was down");
    const resumed = records([a2]);
    assert.ok(resumed.every((r) => r.v.startsWith("s2-")), "the restarted member resumed from its committed offsets");
    assert.equal(other.events().filter((e) => e.event === "assign" || e.event === "revoke").length, otherEvents, "the other member saw no rebalance");
    assert.equal(logs.filter((l) => l.includes("preparing to rebalance")).length, rebalancesBefore, "no rebalance on the broker");
    const membersAfter = (await describeGroup(b.port, "gs")).members.map((m) => m.memberId);
    assert.equal(membersAfter.length, 2);
    assert.notDeepEqual(membersAfter.sort(), membersBefore.sort(), "the restarted instance has a new member id");
  } finally {
    await killAll(procs);
    await b.stop();
  }
});
