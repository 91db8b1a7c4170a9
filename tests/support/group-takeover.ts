/**
 * The group take-over scenario shared by every client's consumer-group test (Java KafkaConsumer, franz-go, with
 * either group protocol): three members of one group share a six-partition topic; once they own disjoint
 * partitions covering the topic and have consumed and committed a first batch, one member is killed with SIGKILL;
 * a second batch is produced, and the two survivors must take over every partition and consume every record that
 * was produced: nothing skipped (duplicates are allowed: the killed member's uncommitted work is redone).
 * Members are peer programs (json-process.ts) printing assigned/revoked/lost/records events.
 */
import assert from "node:assert/strict";
import { Producer } from "../../src/client/producer.ts";
import { startTestBroker, type TestBroker } from "./broker.ts";
import type { PeerEvent, PeerProcess } from "./json-process.ts";
import { waitUntil } from "../transactions/wait-until.ts";

/** Partitions of the shared topic. */
const PARTITIONS = 6;

/** A member and what it has seen. */
interface Member {
  name: string;
  proc: PeerProcess;
  /** Partitions it owns now ("topic-p"): assigned minus revoked/lost, so eager and incremental protocols both work. */
  owned: Set<string>;
}

/** Applies the member's events so far to its owned set (each event applied once). */
function trackOwnership(m: Member, applied: { n: number }): void {
  for (; applied.n < m.proc.events.length; applied.n++) {
    const e: PeerEvent = m.proc.events[applied.n];
    if (e.event === "assigned") for (const p of e.partitions) m.owned.add(p);
    if (e.event === "revoked" || e.event === "lost") for (const p of e.partitions) m.owned.delete(p);
  }
}

/** Every [topic, partition, offset, key, value] row the member has printed. */
function consumedRows(m: Member): [string, number, number, string, string][] {
  return m.proc.events.filter((e) => e.event === "records").flatMap((e) => e.records);
}

/** Produces `count` records k<from+i> / v<from+i> to `topic` with Runnel's own client (acks=all). */
async function produce(bootstrap: string, topic: string, from: number, count: number): Promise<Map<string, string>> {
  const p = new Producer({ bootstrap, acks: "all", lingerMs: 5 });
  await p.connect();
  const sent = await Promise.all([...Array(count).keys()].map((i) => p.send({ topic, key: `k${from + i}`, value: `v${from + i}` })));
  await p.close();
  const byPosition = new Map<string, string>();
  sent.forEach((m, i) => byPosition.set(`${m.partition}/${m.offset}`, `v${from + i}`));
  return byPosition;
}

/**
 * Runs the scenario on a fresh broker (group.min.session.timeout.ms=1000 plus `brokerConfig`, stopped at the end);
 * `startMember(bootstrap, name)` starts one member of the group subscribed to `topic`.
 */
export async function runGroupTakeover(opts: {
  topic: string;
  startMember: (bootstrap: string, name: string) => PeerProcess;
  /** Extra broker settings (for example group.consumer.session.timeout.ms). */
  brokerConfig?: Record<string, string>;
  /** Records per batch (two batches). */
  recordsPerBatch?: number;
  /** How long each phase may take (the kill phase waits out the session timeout). */
  phaseTimeoutMs?: number;
  /** Checks the broker once the three members share the partitions (for example the group's type). */
  check?: (b: TestBroker) => void | Promise<void>;
  /** Checks the broker once the survivors consumed everything. */
  checkAfter?: (b: TestBroker) => void | Promise<void>;
  /** m2 (the one killed later) starts only once m1 and m3 share every partition: it joins a settled group. */
  joinsLast?: boolean;
}): Promise<void> {
  const broker = await startTestBroker({ "group.min.session.timeout.ms": "1000", ...opts.brokerConfig });
  const { topic } = opts;
  const perBatch = opts.recordsPerBatch ?? 600;
  const phaseMs = opts.phaseTimeoutMs ?? 60_000;
  await broker.broker.createTopic(topic, PARTITIONS, 1, {}, false);
  const start = (name: string): Member => ({ name, proc: opts.startMember(broker.bootstrap, name), owned: new Set<string>() });
  const members: Member[] = opts.joinsLast ? [start("m1"), start("m3")] : ["m1", "m2", "m3"].map(start);
  const applied = new Map<Member, { n: number }>();
  const refresh = () =>
    members.forEach((m) => {
      if (!applied.has(m)) applied.set(m, { n: 0 });
      trackOwnership(m, applied.get(m)!);
    });
  const describe = () => {
    refresh();
    return members.map((m) => `${m.name}: owns [${[...m.owned].sort()}], ${consumedRows(m).length} rows, exit ${m.proc.child.exitCode ?? m.proc.child.signalCode ?? "running"}\n${m.proc.output().slice(-3000)}`).join("\n---\n");
  };
  const partitionsCovered = (live: Member[]) => {
    refresh();
    const all = live.flatMap((m) => [...m.owned]);
    return all.length === PARTITIONS && new Set(all).size === PARTITIONS;
  };
  const consumedAll = (expected: Map<string, string>, from: Member[]) => {
    const seen = new Map<string, string>();
    for (const m of from) for (const [, p, o, , v] of consumedRows(m)) seen.set(`${p}/${o}`, v);
    for (const [pos, v] of expected) if (seen.get(pos) !== v) return false;
    return true;
  };
  try {
    if (opts.joinsLast) {
      await waitUntil(() => partitionsCovered(members) && members.every((m) => m.owned.size > 0), phaseMs, () => `m1 and m3 to share the 6 partitions:\n${describe()}`);
      members.splice(1, 0, start("m2"));
    }
    await waitUntil(() => partitionsCovered(members) && members.every((m) => m.owned.size > 0), phaseMs, () => `three members to share the 6 partitions:\n${describe()}`);
    await opts.check?.(broker);
    const first = await produce(broker.bootstrap, topic, 0, perBatch);
    await waitUntil(() => consumedAll(first, members), phaseMs, () => `the first batch to be consumed:\n${describe()}`);
    await waitUntil(
      () => members.every((m) => m.proc.events.filter((e) => e.event === "committed").reduce((n, e) => n + e.count, 0) >= consumedRows(m).length),
      phaseMs,
      () => `every member to commit what it consumed:\n${describe()}`,
    );

    const victim = members[1];
    await victim.proc.kill("SIGKILL");
    const survivors = members.filter((m) => m !== victim);
    const second = await produce(broker.bootstrap, topic, perBatch, perBatch);
    await waitUntil(() => partitionsCovered(survivors), phaseMs, () => `the two survivors to take over all 6 partitions:\n${describe()}`);
    await waitUntil(() => consumedAll(second, survivors), phaseMs, () => `the survivors to consume the whole second batch:\n${describe()}`);
    assert.ok(consumedAll(first, members), "every record of the first batch was consumed");
    await opts.checkAfter?.(broker);
    const errors = members.flatMap((m) => m.proc.events.filter((e) => e.event === "error"));
    assert.deepEqual(errors, [], "no member reported an error");
  } finally {
    for (const m of members) m.proc.send("close");
    await Promise.race([Promise.all(members.map((m) => m.proc.exited)), new Promise((r) => setTimeout(r, 15_000))]);
    await Promise.all(members.map((m) => m.proc.kill("SIGKILL")));
    await broker.stop();
  }
}
