/**
 * `runnel cluster reassign` and `runnel cluster drain` on real processes: with a fourth broker added (only its own
 * settings), `reassign` prints a plan that spreads an 8-partition RF=2 topic evenly and changes nothing; with
 * `--execute --throttle` it runs the plan, prints progress, completes and removes the throttle, after which every
 * broker holds 4 replicas; `drain 1` moves every replica off broker 1, which then holds no file of the topic;
 * CreatePartitions puts new partitions on the brokers asked for (unregistered ones refused) or lets the controller
 * place them, and only their replicas hold files; every record produced before is still read back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster, until } from "../support/cluster-processes.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { runnel } from "../cli/run-cli.ts";

const skip = ETCD_SKIP_REASON || (haveCommand("kcat") ? false : "SKIPPED: no kcat (bash tests/setup.d/*kcat*.sh)");
const TOPIC = "spread";

test("cluster reassign spreads replicas over a new broker (plan, then --execute with progress); cluster drain empties a broker", { skip, timeout: 300_000 }, async () => {
  const cluster = await startCluster(["-o", "replica.lag.time.max.ms=2000"]);
  const { brokers, dataDirs } = cluster;
  try {
    const kafka = new Kafka({ clientId: "spread", brokers: [brokers[0].bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: TOPIC, numPartitions: 8, replicationFactor: 2 }] });
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < 8; i++) await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 100 }, (_, j) => ({ partition: i, value: `p${i}-${j}` })) });
    await producer.disconnect();
    await cluster.add(4);
    await until("broker 4 to be registered", 60_000, async () => (await admin.describeCluster()).brokers.length === 4);
    const bootstrap = ["--bootstrap", brokers.map((b) => b.bootstrap).join(",")];
    const held = async () => {
      const parts = (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions;
      const n = new Map<number, number>([[1, 0], [2, 0], [3, 0], [4, 0]]);
      for (const p of parts) for (const r of p.replicas) n.set(r, n.get(r)! + 1);
      return n;
    };

    const plan = await runnel(["cluster", "reassign", ...bootstrap, "--topic", TOPIC]);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /partition\(s\) to move, 4 new replica\(s\) to copy/);
    assert.match(plan.stdout, /TOPIC\s+PARTITION\s+CURRENT\s+TARGET/);
    assert.equal((await held()).get(4), 0, "a plan alone moves nothing");

    const run = await runnel(["cluster", "reassign", ...bootstrap, "--topic", TOPIC, "--execute", "--throttle", "10000000", "--interval-ms", "200"], { timeoutMs: 120_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Started \d+ move\(s\) \(throttled to 10000000 B\/s\)/);
    assert.match(run.stdout, /all \d+ move\(s\) completed/);
    assert.match(run.stdout, /Replication throttle removed/);
    assert.deepEqual([...(await held()).values()], [4, 4, 4, 4], "16 replicas, 4 per broker");
    const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: TOPIC }] });
    const throttled = configs.resources[0].configEntries.find((e) => e.configName === "leader.replication.throttled.replicas");
    assert.equal(throttled?.configValue ?? "", "", "the throttle is gone");

    const drain = await runnel(["cluster", "drain", "1", ...bootstrap, "--interval-ms", "200"], { timeoutMs: 120_000 });
    assert.equal(drain.code, 0, drain.stderr);
    assert.match(drain.stdout, /all \d+ move\(s\) completed/);
    const after = await held();
    assert.equal(after.get(1), 0, "broker 1 holds no replica");
    assert.ok([...after.values()].slice(1).every((n) => n >= 5 && n <= 6), JSON.stringify([...after]));
    await until("broker 1 to hold no file of the topic", 60_000, () => !fs.readdirSync(dataDirs[0]).some((f) => f.startsWith(`${TOPIC}-`)));

    // CreatePartitions in a cluster: on the brokers asked for, or placed by the controller; only replicas hold files
    await admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 10, assignments: [[4, 2], [3, 4]] }] });
    await admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 12 }] });
    const grown = (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0].partitions.sort((a, b) => a.partitionId - b.partitionId);
    assert.deepEqual(grown[8].replicas, [4, 2]);
    assert.deepEqual(grown[9].replicas, [3, 4]);
    for (const p of grown.slice(10)) assert.equal(new Set(p.replicas).size, 2, JSON.stringify(p));
    for (const p of grown.slice(8)) {
      await until(`only the replicas of ${TOPIC}-${p.partitionId} to hold its files`, 30_000, () =>
        [1, 2, 3, 4].every((id) => fs.existsSync(`${dataDirs[id - 1]}/${TOPIC}-${p.partitionId}`) === p.replicas.includes(id)),
      );
    }
    await assert.rejects(admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 13, assignments: [[4, 9]] }] }), /replica assignment|not registered/i);
    await admin.disconnect();

    const kc = await runProc("kcat", ["-C", "-b", brokers[1].bootstrap, "-t", TOPIC, "-o", "beginning", "-e", "-q", "-f", "%s\\n"], { timeoutMs: 120_000 });
    assert.equal(kc.code, 0, kc.stderr);
    assert.equal(kc.stdout.split("\n").filter((l) => l.length > 0).length, 800, "every record is still there");
  } finally {
    await cluster.close();
  }
});
