/**
 * Consumer groups with `kcat -G` (librdkafka's balanced consumer, auto-commit): three kcat processes in one group on
 * a 6-partition topic get two partitions each, read every record exactly once and commit everything; after they
 * stop, the group is empty with offsets at the log end, and a fourth kcat in the same group reads nothing old.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { startTestBroker, type TestBroker } from "../support/broker.ts";
import { haveCommand } from "../support/proc.ts";
import { committedOffsets, describeGroup, waitFor } from "../support/group-state.ts";
import { ConsumerProcess, killAll, sleep, waitUntil } from "./consumer-process.ts";

const skip = haveCommand("kcat") ? false : "kcat is not installed (tests/setup.sh installs it as root)";

function kcat(name: string, b: TestBroker, group: string, topic: string): ConsumerProcess {
  return new ConsumerProcess(name, "kcat", [
    "-b", b.bootstrap,
    "-G", group, topic,
    "-u",
    "-f", "%p %o %s\n",
    "-X", "auto.offset.reset=earliest",
    "-X", "auto.commit.interval.ms=200",
    "-X", "session.timeout.ms=6000",
    "-X", "heartbeat.interval.ms=500",
    "-X", `client.id=${name}`,
  ]);
}

function rows(p: ConsumerProcess): { p: number; o: number; v: string }[] {
  return p.lines.map((l) => l.split(" ")).filter((f) => f.length === 3 && /^\d+$/.test(f[0])).map(([p, o, v]) => ({ p: Number(p), o: Number(o), v }));
}

/** The partitions of kcat's last "assigned:" rebalance line on stderr. */
function lastAssigned(p: ConsumerProcess, topic: string): number[] | null {
  const lines = p.stderr.split("\n").filter((l) => l.includes("rebalanced") && l.includes("assigned:"));
  const last = lines.at(-1);
  if (last === undefined) return null;
  return [...last.matchAll(new RegExp(`${topic} \\[(\\d+)\\]`, "g"))].map((m) => Number(m[1])).sort((a, b) => a - b);
}

test("kcat -G: three members share a 6-partition topic, read every record once and commit it", { timeout: 120_000, skip }, async () => {
  const b = await startTestBroker({ "group.min.session.timeout.ms": "1000" });
  const procs: ConsumerProcess[] = [];
  try {
    await b.broker.createTopic("kc", 6, 1, {}, false);
    for (let i = 0; i < 3; i++) procs.push(kcat(`kcat-${i}`, b, "gkc", "kc"));
    await waitFor(async () => {
      const d = await describeGroup(b.port, "gkc");
      return d.state === "Stable" && d.members.length === 3;
    }, 45_000, "the group to be Stable with three kcat members");
    await waitUntil(() => procs.every((p) => lastAssigned(p, "kc")?.length === 2), 20_000, () => `two partitions each: ${procs.map((p) => p.stderr.slice(-400)).join("\n")}`);
    assert.deepEqual(procs.flatMap((p) => lastAssigned(p, "kc")!).sort(), [0, 1, 2, 3, 4, 5]);

    const kafka = new Kafka({ clientId: "producer", brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const values = Array.from({ length: 600 }, (_, i) => `k-${i}`);
    await producer.send({ topic: "kc", acks: -1, messages: values.map((value, i) => ({ partition: i % 6, value })) });
    await producer.disconnect();

    await waitUntil(() => procs.reduce((n, p) => n + rows(p).length, 0) >= 600, 45_000, "600 records");
    const offsets = () => committedOffsets(b.port, "gkc", "kc", [0, 1, 2, 3, 4, 5]);
    await waitFor(async () => (await offsets()).every((o) => o === 100n), 20_000, async () => `auto-commits to reach the log end (${(await offsets()).join(",")})`);
    await sleep(300);
    const all = procs.flatMap(rows);
    assert.equal(all.length, 600, "no record twice");
    assert.deepEqual(new Set(all.map((r) => r.v)), new Set(values));
    for (const p of procs) {
      const mine = lastAssigned(p, "kc")!;
      assert.ok(rows(p).every((r) => mine.includes(r.p)), `${p.name} read only its partitions`);
    }
    await Promise.all(procs.map((p) => p.stop("SIGTERM")));
    await waitFor(async () => (await describeGroup(b.port, "gkc")).state === "Empty", 20_000, "the group to be empty after the kcats left");

    const late = kcat("kcat-late", b, "gkc", "kc");
    procs.push(late);
    await waitUntil(() => lastAssigned(late, "kc")?.length === 6, 30_000, "the late member to own all partitions");
    await sleep(1000);
    assert.equal(rows(late).length, 0, "nothing old is read again");
  } finally {
    await killAll(procs);
    await b.stop();
  }
});
