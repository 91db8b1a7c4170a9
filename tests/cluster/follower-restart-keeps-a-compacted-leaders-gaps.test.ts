/**
 * A follower that replicated a compacted leader's log keeps every record through an unclean restart, on real
 * processes and one etcd:
 * - one broker (the leader L) alone holds a `cleanup.policy=compact` partition; half of its early batches are overwritten key for key
 *   and its cleaner removes them, leaving offset gaps between the batches that stay; the topic then switches to
 *   `cleanup.policy=delete` (Kafka's "compact, then delete");
 * - the partition is reassigned to L and another broker F: F copies the gapped log byte for byte, rolling 1 MiB
 *   segments whose first batches lie past a gap;
 * - the leader is SIGKILLed and F is elected from the ISR; then F is SIGKILLed too, and its
 *   recovery-point checkpoint removed (as when it dies before the checkpoint, written a second after rolls and
 *   every minute, covers those segments: recovery then checks every segment);
 * - restarted and leading again with nobody to copy from, F serves every record at the offset L had
 *   given it (kcat), and its segment files hold the same batches as before the kill.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { metadataOf, printBrokerLogs, startCluster, until } from "../support/cluster-processes.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { rootCheckpointOffset } from "../support/root-checkpoint.ts";
import { partitionLogBytes, segmentFileBatches } from "../support/segment-batches.ts";

const skip = ETCD_SKIP_REASON || (haveCommand("kcat") ? false : "SKIPPED: no kcat (bash tests/setup.d/*kcat*.sh)");
const TOPIC = "gapped";
/** Records per produced batch, and the value size of the first round's records (about 100 KB per batch). */
const PER_BATCH = 100;
const VALUE_BYTES = 1000;
/** First-round batches (6 MB); the second round overwrites the keys of every even one. */
const ROUND1 = 60;
/** Batches of new keys after the overwrites, so that those lie in sealed segments the cleaner reads. */
const FILLER = 15;
/** The leader L (the partition's one replica, named by the topic's replica assignment; not the first broker started, which tends to be the controller) and the follower F it gets. */
const L = 3;
const F = 2;

/** Every record kcat reads from `bootstrap`: "offset key value-length value-prefix" lines, in offset order. */
async function readAll(bootstrap: string): Promise<string[]> {
  const r = await runProc("kcat", ["-C", "-b", bootstrap, "-t", TOPIC, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%o %k %S %s\\n"], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l.length > 0).map((l) => l.slice(0, 80));
}

/** For each segment file of the partition in `dataDir` after the first: whether its first batch lies past the previous file's last offset + 1. */
function gapsAtRolls(dataDir: string): boolean[] {
  const dir = path.join(dataDir, `${TOPIC}-0`);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".log")).sort();
  const out: boolean[] = [];
  let prevEnd: bigint | null = null;
  for (const f of files) {
    const batches = segmentFileBatches(path.join(dir, f));
    if (batches.length === 0) continue;
    if (prevEnd !== null) out.push(batches[0].baseOffset > prevEnd);
    const last = batches[batches.length - 1];
    prevEnd = last.baseOffset + BigInt(last.lastOffsetDelta) + 1n;
  }
  return out;
}

/** The partition's leader in broker `port`'s Metadata (-1 for none or not known). */
async function leaderAt(port: number): Promise<number> {
  const md = await metadataOf(port).catch(() => null);
  const p = md?.topics.find((t) => t.name === TOPIC)?.partitions.find((x) => x.partitionIndex === 0);
  return p === undefined || p.errorCode !== 0 ? -1 : p.leaderId;
}

test("a follower of a compacted leader keeps every record through SIGKILL and a full recovery after the topic switched to delete", { skip, timeout: 300_000 }, async () => {
  const cluster = await startCluster(["-o", "broker.session.timeout.ms=2000", "-o", "log.cleaner.backoff.ms=100"]);
  const { brokers, dataDirs } = cluster;
  try {
    const kafka = new Kafka({ clientId: "gaps", brokers: brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 1000 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas: [L] }], configEntries: [{ name: "cleanup.policy", value: "compact" }, { name: "segment.bytes", value: "1048576" }, { name: "min.cleanable.dirty.ratio", value: "0.01" }] }],
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const send = (keys: string[], value: (k: string) => string) => producer.send({ topic: TOPIC, acks: -1, messages: keys.map((key) => ({ key, value: value(key), partition: 0 })) });
    const keysOf = (b: number) => Array.from({ length: PER_BATCH }, (_, i) => `a${b}-${i}`);
    for (let b = 0; b < ROUND1; b++) await send(keysOf(b), (k) => `${k}:`.padEnd(VALUE_BYTES, String.fromCharCode(97 + (b % 26))));
    for (let b = 0; b < ROUND1; b += 2) await send(keysOf(b), (k) => `${k}=new`);
    const overwritten = BigInt(ROUND1 * PER_BATCH + (ROUND1 / 2) * PER_BATCH);
    for (let b = 0; b < FILLER; b++) await send(Array.from({ length: PER_BATCH }, (_, i) => `f${b}-${i}`), (k) => `${k}:`.padEnd(VALUE_BYTES, "f"));
    await producer.disconnect();

    // the leader's cleaner removes the overwritten batches: gaps of PER_BATCH offsets between the batches that stay
    await until("the cleaner to compact past the overwrites", 60_000, () => rootCheckpointOffset(dataDirs[L - 1], "cleaner-offset-checkpoint", TOPIC, 0) >= overwritten);
    const leaderRecords = await readAll(brokers[L - 1].bootstrap);
    const total = ROUND1 * PER_BATCH + (ROUND1 / 2) * PER_BATCH + FILLER * PER_BATCH;
    assert.equal(leaderRecords.length, total - (ROUND1 / 2) * PER_BATCH, "the compacted log lost the overwritten values");
    assert.ok(leaderRecords.some((l, i) => i > 0 && Number(l.split(" ")[0]) > Number(leaderRecords[i - 1].split(" ")[0]) + 1), "offset gaps");

    // (AlterConfigs replaces the topic's overrides: segment.bytes is given again)
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: TOPIC, configEntries: [{ name: "cleanup.policy", value: "delete" }, { name: "segment.bytes", value: "1048576" }] }] });
    await admin.alterPartitionReassignments({ topics: [{ topic: TOPIC, partitionAssignment: [{ partition: 0, replicas: [L, F] }] }] });
    await until(`broker ${F} to copy the partition and join its ISR`, 90_000, async () => {
      const p = (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions[0];
      const leader = partitionLogBytes(dataDirs[L - 1], TOPIC, 0);
      return p.isr.includes(F) && leader.length > 0 && leader.equals(partitionLogBytes(dataDirs[F - 1], TOPIC, 0));
    });
    await admin.disconnect();
    const rolls = gapsAtRolls(dataDirs[F - 1]);
    assert.ok(rolls.length >= 2 && rolls.filter((g) => g).length >= 2, `broker ${F} rolled segments at gaps: ${JSON.stringify(rolls)}`);
    const copied = partitionLogBytes(dataDirs[F - 1], TOPIC, 0);

    // the leader dies; the follower, in the ISR, takes over
    await brokers[L - 1].stop("SIGKILL");
    await until(`broker ${F} to lead`, 60_000, async () => (await leaderAt(brokers[F - 1].port)) === F);
    assert.deepEqual(await readAll(brokers[F - 1].bootstrap), leaderRecords, `broker ${F} serves what broker ${L} had`);

    // it dies too, before a recovery-point checkpoint covered its segments, and comes back alone
    await brokers[F - 1].stop("SIGKILL");
    for (const f of fs.readdirSync(dataDirs[F - 1]).filter((n) => n.startsWith("recovery-point-offset-checkpoint"))) fs.rmSync(path.join(dataDirs[F - 1], f));
    const back = await cluster.restart(F);
    await until(`broker ${F} to lead again`, 60_000, async () => (await leaderAt(back.port)) === F);
    const served = await readAll(back.bootstrap);
    if (served.length !== leaderRecords.length) printBrokerLogs([back]);
    assert.equal(served.length, leaderRecords.length, "every record the compacted leader had, after the restart");
    assert.deepEqual(served, leaderRecords, "at the same offsets");
    assert.ok(partitionLogBytes(dataDirs[F - 1], TOPIC, 0).equals(copied), `broker ${F}'s segment files hold the batches it had before the kill`);
  } finally {
    await cluster.close();
  }
});
