/**
 * Issue 9, acceptance 2: three `runnel start` processes on one etcd; an idempotent confluent-kafka producer sends
 * with acks=all to an RF=3, min.insync.replicas=2 topic without pause while the partition's leader is SIGKILLed at
 * 10 moments drawn from a seeded PRNG (RUNNEL_LEADER_KILL_SEED overrides the seed; it is printed), and restarted
 * each time. Every other kill first pauses the followers and writes acks=1 records to the leader alone, so the
 * restarted broker holds a tail nobody else has; kills 3 and 7 restart the broker at once (it registers again as
 * soon as its old lease expires, about when the controller elects), the others after the failover.
 * - every acknowledged record is read back from the final leader exactly once, in order, at the offset it was
 *   acknowledged with; no record failed and the producer hit no fatal error;
 * - a restarted broker with such a tail logs that it truncated it (from past the tail back to at most its first
 *   offset), and the tail's records are gone from the partition;
 * - every killed broker leaves the ISR with the election, and after its restart comes back into it (ISR=3 in
 *   Metadata); at the end all three replicas' segment files hold the same bytes;
 * - a follower fetch carrying a broker epoch older than the follower's registration is refused
 *   (NOT_LEADER_OR_FOLLOWER: a stale incarnation);
 * - the time from each kill to the next acknowledged record is printed (not asserted).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster, until } from "../support/cluster-processes.ts";
import { PYTHON, haveCommand, havePythonModule, runProc } from "../support/proc.ts";
import { RawClient } from "../support/raw-client.ts";
import { IdempotentProducer, TAIL_PREFIX, WAKE_PREFIX, killLeaders, median, partitionRoles } from "../support/leader-kills.ts";
import { partitionLogBytes } from "../support/segment-batches.ts";

const TOPIC = "kills";
const KILLS = 10;
const seed = Number(process.env.RUNNEL_LEADER_KILL_SEED ?? Math.floor(Math.random() * 2 ** 31));

const skip =
  ETCD_SKIP_REASON ||
  (haveCommand("kcat") ? false : "SKIPPED: no kcat (bash tests/setup.d/*kcat*.sh)") ||
  ((await havePythonModule("confluent_kafka")) ? false : `SKIPPED: ${PYTHON} has no confluent_kafka (tests/setup.d/10-interop-peers.sh)`);


test(`SIGKILL of the leader at ${KILLS} seeded moments under an idempotent acks=all producer: every acked record once, in order; restarted brokers truncate and rejoin the ISR`, { skip, timeout: 400_000 }, async () => {
  console.error(`leader kills: seed ${seed} (set RUNNEL_LEADER_KILL_SEED=${seed} to replay the same kill moments)`);
  const cluster = await startCluster(["-o", "broker.session.timeout.ms=2000", "-o", "replica.lag.time.max.ms=2000"]);
  let producer: IdempotentProducer | null = null;
  try {
    const admin = new Kafka({ clientId: "kills", brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3, configEntries: [{ name: "min.insync.replicas", value: "2" }] }] });
    await admin.disconnect();

    producer = IdempotentProducer.start(cluster.brokers.map((b) => b.bootstrap).join(","), TOPIC);
    const rounds = await killLeaders(cluster, producer, { topic: TOPIC, rounds: KILLS, seed, minDelayMs: 200, maxDelayMs: 1500, tailEvery: 2, tailRecords: 20, quickRestartEvery: 4, log: (m) => console.error(m) });
    const done = await producer.stop();
    const failovers = rounds.map((r) => r.failoverMs);
    const elections = rounds.map((r) => r.electedMs);
    console.error(`kill to next acknowledged acks=all produce, ms: ${failovers.join(", ")} (median ${median(failovers)}, max ${Math.max(...failovers)}); kill to new leader in Metadata: median ${median(elections)}, max ${Math.max(...elections)}; ${done}`);

    assert.deepEqual(producer.problems.filter((l) => l.startsWith("f ") || l.startsWith("E 1")), [], "no record failed, no fatal producer error");
    const [, sent, unflushed] = done.split(" ").map(Number);
    assert.equal(unflushed, 0);
    assert.equal(producer.acks.length, sent, "every record sent was acknowledged");

    // each killed broker lost the leadership and left the ISR with the election, so being back in it (ISR=3, waited
    // for per round) is a rejoin (a broker restarted at once may already be back when the ISR is read)
    for (const r of rounds) assert.notEqual(r.newLeader, r.killed, `kill of ${r.killed}: leadership moved`);
    for (const r of rounds.filter((x) => !x.quickRestart)) assert.ok(!r.isrAfterKill.includes(r.killed) && r.isrAfterKill.length === 2, `broker ${r.killed} left the ISR: ${r.isrAfterKill}`);

    // every restarted broker holding a tail truncated it: from past the tail to at most the tail's first offset
    for (const r of rounds.filter((x) => x.tailRecords > 0)) {
      assert.ok(r.truncatedFrom !== null && r.truncatedTo !== null, `broker ${r.killed} logged a truncation after its restart: ${JSON.stringify(r, (_, v) => (typeof v === "bigint" ? String(v) : v))}`);
      assert.ok(r.truncatedFrom >= r.tailBaseOffset + BigInt(r.tailRecords), `truncated from ${r.truncatedFrom}, past the tail ending at ${r.tailBaseOffset + BigInt(r.tailRecords)}`);
      assert.ok(r.truncatedTo <= r.tailBaseOffset, `truncated to ${r.truncatedTo}, at or below the tail at ${r.tailBaseOffset}`);
    }

    // read everything back from the current leader: exactly the acknowledged records, in order, at their offsets
    const roles = (await partitionRoles(cluster.brokers[0].port, TOPIC))!;
    assert.deepEqual(roles.isr, [1, 2, 3]);
    const kc = await runProc("kcat", ["-C", "-b", cluster.brokers[roles.leader - 1].bootstrap, "-t", TOPIC, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%o %s\\n"], { timeoutMs: 120_000 });
    assert.equal(kc.code, 0, kc.stderr);
    const all = kc.stdout.split("\n").filter((l) => l.length > 0).map((l) => l.split(" "));
    assert.equal(all.filter(([, v]) => v.startsWith(TAIL_PREFIX)).length, 0, "the acks=1 tails written to the old leaders alone are gone");
    const read = all.filter(([, v]) => !v.startsWith(WAKE_PREFIX)); // acks=1 records the followers may have had
    const sorted = [...producer.acks].sort((a, b) => a.index - b.index);
    assert.deepEqual(read.map(([, v]) => v), sorted.map((a) => `v${a.index}`), "every acknowledged record exactly once, in order");
    assert.deepEqual(read.map(([o]) => o), sorted.map((a) => String(a.offset)), "each at the offset it was acknowledged with");

    // a follower fetch (v15) carrying a broker epoch older than the follower's registration comes from a stale
    // incarnation of it: the leader answers NOT_LEADER_OR_FOLLOWER
    const follower = [1, 2, 3].find((id) => id !== roles.leader)!;
    const raw = await RawClient.connect(cluster.brokers[roles.leader - 1].port);
    const md = await raw.request(3, 12, { topics: [{ name: TOPIC }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const stale = await raw.request(1, 15, {
      replicaState: { replicaId: follower, replicaEpoch: 1n }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId: "", forgottenTopicsData: [],
      topics: [{ topicId: md.topics[0].topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    });
    raw.close();
    assert.equal(stale.responses[0].partitions[0].errorCode, 6, "NOT_LEADER_OR_FOLLOWER for a stale broker epoch");

    // all three replicas hold the same bytes
    await until("the three replicas to be byte-identical", 60_000, () => {
      const [a, b, c] = cluster.dataDirs.map((d) => partitionLogBytes(d, TOPIC, 0));
      return a.length > 0 && a.equals(b) && a.equals(c);
    });
  } finally {
    producer?.kill();
    await cluster.close();
  }
});
