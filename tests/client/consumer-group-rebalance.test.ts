/**
 * Group membership of Runnel's consumer against a real Runnel broker (classic protocol): two members with the
 * range assignor split the partitions and the survivor takes over when one leaves; cooperative-sticky moves only
 * the partitions a newcomer gets, without the old owner losing the ones it keeps; committed offsets carry over to
 * the next member; and a kafkajs consumer and ours can follow each other in one group through committed offsets.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { Consumer, type ConsumerConfig, type ConsumerRecord, type TopicPartition } from "../../src/client/consumer.ts";
import { Producer } from "../../src/client/producer.ts";
import { Admin } from "../../src/client/admin.ts";

let broker: TestBroker;
let producer: Producer;
let admin: Admin;
const dec = new TextDecoder();

before(async () => {
  broker = await startTestBroker({ "group.initial.rebalance.delay.ms": "0" });
  producer = new Producer({ bootstrap: broker.bootstrap, lingerMs: 0 });
  await producer.connect();
  admin = new Admin({ bootstrap: broker.bootstrap });
  await admin.connect();
});

after(async () => {
  await producer?.close();
  await admin?.close();
  await broker?.stop();
});

async function topicWith(name: string, partitions: number, records: number): Promise<void> {
  await admin.createTopics([{ name, numPartitions: partitions }]);
  const sends = [];
  for (let i = 0; i < records; i++) sends.push(producer.send({ topic: name, partition: i % partitions, value: `r${i}` }));
  await Promise.all(sends);
}

function member(groupId: string, over: Partial<ConsumerConfig> = {}): Consumer {
  return new Consumer({
    bootstrap: broker.bootstrap,
    groupId,
    autoOffsetReset: "earliest",
    fetchMaxWaitMs: 100,
    heartbeatIntervalMs: 100,
    sessionTimeoutMs: 6000,
    maxPollIntervalMs: 10_000,
    ...over,
  });
}

const names = (l: TopicPartition[]) => l.map((t) => `${t.topic}-${t.partition}`).sort();

/** Polls every consumer until `until` holds or the time runs out; returns records per consumer. */
async function pollAll(consumers: Consumer[], until: (got: ConsumerRecord[][]) => boolean, ms = 20_000): Promise<ConsumerRecord[][]> {
  const got = consumers.map(() => [] as ConsumerRecord[]);
  const deadline = Date.now() + ms;
  while (!until(got) && Date.now() < deadline) {
    const batches = await Promise.all(consumers.map((c) => c.poll(100)));
    batches.forEach((b, i) => got[i].push(...b));
  }
  return got;
}

test("range: two members split the partitions, the survivor takes all after the other leaves", async () => {
  await topicWith("range-t", 4, 40);
  const a = member("range-g", { partitionAssignmentStrategy: ["range"] });
  const b = member("range-g", { partitionAssignmentStrategy: ["range"] });
  await a.connect();
  await b.connect();
  a.subscribe(["range-t"]);
  b.subscribe(["range-t"]);
  const got = await pollAll([a, b], (g) => a.assignment().length === 2 && b.assignment().length === 2 && g[0].length + g[1].length >= 40);
  const values = [...got[0], ...got[1]].map((r) => dec.decode(r.value!)).sort();
  assert.deepEqual(values, Array.from({ length: 40 }, (_, i) => `r${i}`).sort(), "each record once across both members");
  assert.equal(a.assignment().length + b.assignment().length, 4);
  assert.deepEqual(names([...a.assignment(), ...b.assignment()]), ["range-t-0", "range-t-1", "range-t-2", "range-t-3"]);
  await a.commit();
  await b.commit();
  await b.close();
  await pollAll([a], () => a.assignment().length === 4);
  assert.equal(a.assignment().length, 4);
  await producer.send({ topic: "range-t", partition: 3, value: "late" });
  const late = await pollAll([a], () => false, 1500);
  assert.ok(late[0].some((r) => dec.decode(r.value!) === "late"), "the survivor reads the partition it took over");
  await a.close();
});

test("cooperative-sticky: a newcomer gets half, the first member keeps its other partitions throughout", async () => {
  await topicWith("coop-t", 6, 0);
  const revokedFromA: string[] = [];
  const assignedToA: string[] = [];
  const a = member("coop-g", {
    partitionAssignmentStrategy: ["cooperative-sticky"],
    onPartitionsRevoked: (ps) => void revokedFromA.push(...names(ps)),
    onPartitionsAssigned: (ps) => void assignedToA.push(...names(ps)),
  });
  await a.connect();
  a.subscribe(["coop-t"]);
  await pollAll([a], () => a.assignment().length === 6);
  assert.equal(a.assignment().length, 6);
  const b = member("coop-g", { partitionAssignmentStrategy: ["cooperative-sticky"] });
  await b.connect();
  b.subscribe(["coop-t"]);
  await pollAll([a, b], () => a.assignment().length === 3 && b.assignment().length === 3);
  assert.equal(a.assignment().length, 3);
  assert.equal(b.assignment().length, 3);
  assert.equal(revokedFromA.length, 3, `a revoked only what moved: ${revokedFromA}`);
  const kept = names(a.assignment());
  for (const k of kept) assert.ok(!revokedFromA.includes(k), `${k} was revoked although a kept it`);
  assert.deepEqual(names([...a.assignment(), ...b.assignment()]), names(Array.from({ length: 6 }, (_, p) => ({ topic: "coop-t", partition: p }))));
  const [d] = await admin.describeGroups(["coop-g"]);
  assert.equal(d.state, "Stable");
  assert.equal(d.protocol, "cooperative-sticky");
  assert.equal(d.members.length, 2);
  await b.close();
  await a.close();
});

test("committed offsets carry over to the next member of the group", async () => {
  await topicWith("resume-t", 2, 20);
  const first = member("resume-g", { maxPollRecords: 5 });
  await first.connect();
  first.subscribe(["resume-t"]);
  const got: ConsumerRecord[] = [];
  const deadline = Date.now() + 20_000;
  while (got.length < 8 && Date.now() < deadline) got.push(...(await first.poll(100)));
  await first.close(); // commits what poll returned
  const committed = await admin.groupOffsets("resume-g");
  const sum = committed.reduce((n, c) => n + Number(c.offset), 0);
  assert.equal(sum, got.length, "commit on close stores the positions of the records returned");
  const second = member("resume-g");
  await second.connect();
  second.subscribe(["resume-t"]);
  const rest: ConsumerRecord[] = [];
  const deadline2 = Date.now() + 20_000;
  while (rest.length < 20 - got.length && Date.now() < deadline2) rest.push(...(await second.poll(100)));
  await second.close();
  const all = [...got, ...rest].map((r) => dec.decode(r.value!)).sort();
  assert.deepEqual(all, Array.from({ length: 20 }, (_, i) => `r${i}`).sort(), "every record exactly once across the two members");
});

test("a kafkajs consumer continues where our consumer committed, and ours where kafkajs committed", async () => {
  await topicWith("mixed-t", 1, 30);
  const ours = member("mixed-g");
  await ours.connect();
  ours.subscribe(["mixed-t"]);
  const first: ConsumerRecord[] = [];
  const deadline = Date.now() + 20_000;
  while (first.length < 10 && Date.now() < deadline) first.push(...(await ours.poll(100)));
  const cut = first[9].offset + 1n;
  ours.seek("mixed-t", 0, cut);
  await ours.commit();
  await ours.close();

  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const kc = kafka.consumer({ groupId: "mixed-g", maxWaitTimeInMs: 100 });
  await kc.connect();
  await kc.subscribe({ topic: "mixed-t", fromBeginning: true });
  const seen: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kafkajs saw ${seen.length}`)), 20_000);
    kc.run({
      autoCommit: true,
      eachMessage: async ({ message }) => {
        seen.push(Number(message.offset));
        if (seen.length === 10) {
          clearTimeout(timer);
          resolve();
        }
      },
    }).catch(reject);
  });
  await kc.disconnect(); // kafkajs commits resolved offsets on disconnect
  assert.equal(seen[0], Number(cut), "kafkajs started at our committed offset");

  const again = member("mixed-g");
  await again.connect();
  again.subscribe(["mixed-t"]);
  const rest: ConsumerRecord[] = [];
  const deadline2 = Date.now() + 20_000;
  while (rest.length < 10 && Date.now() < deadline2) rest.push(...(await again.poll(100)));
  await again.close();
  assert.equal(Number(rest[0].offset), seen[seen.length - 1] + 1, "ours started at kafkajs's committed offset");
});

test("the leader notices added partitions on a metadata refresh and the group rebalances onto them", async () => {
  await topicWith("growing-t", 2, 0);
  const c = member("growing-g", { metadataMaxAgeMs: 300 });
  await c.connect();
  c.subscribe(["growing-t"]);
  await pollAll([c], () => c.assignment().length === 2);
  assert.equal(c.assignment().length, 2);
  await admin.createPartitions("growing-t", 4);
  await pollAll([c], () => c.assignment().length === 4, 10_000);
  assert.deepEqual(names(c.assignment()), ["growing-t-0", "growing-t-1", "growing-t-2", "growing-t-3"]);
  await producer.cluster.refresh(["growing-t"]);
  await producer.send({ topic: "growing-t", partition: 3, value: "new partition" });
  const got = await pollAll([c], (g) => g[0].length > 0, 10_000);
  assert.equal(dec.decode(got[0][0].value!), "new partition");
  await c.close();
});
