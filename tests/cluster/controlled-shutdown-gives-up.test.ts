/**
 * A controlled shutdown that cannot finish does not hold the broker: with the controller frozen (SIGSTOP, its lease
 * still valid) nobody moves the leaderships, so a broker given SIGTERM stops anyway after
 * controlled.shutdown.max.retries x controlled.shutdown.retry.backoff.ms, and a second SIGTERM stops it at once.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster, metadataOf } from "../support/cluster-processes.ts";
import { signalChild } from "../support/proc.ts";
import type { MetadataResponse } from "../../src/protocol/generated/03_metadata.ts";

const metadata = (port: number) => metadataOf(port);

test("with the controller frozen: SIGTERM stops after the retries, a second SIGTERM at once, both still leading", { skip: ETCD_SKIP_REASON, timeout: 240_000 }, async () => {
  const cluster = await startCluster([
    "-o", "broker.session.timeout.ms=60000",
    "-o", "auto.leader.rebalance.enable=false",
    "-o", "controlled.shutdown.max.retries=2",
    "-o", "controlled.shutdown.retry.backoff.ms=1000",
  ]);
  let frozen: number | null = null;
  try {
    const kafka = new Kafka({ clientId: "gives-up", brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: "stuck", numPartitions: 6, replicationFactor: 3 }] });
    await admin.disconnect();
    const md = await metadata(cluster.brokers[0].port);
    const controller = md.controllerId ?? -1;
    assert.ok([1, 2, 3].includes(controller));
    const [a, b] = [1, 2, 3].filter((id) => id !== controller);
    const leads = (m: MetadataResponse, id: number) => m.topics.flatMap((t) => t.partitions).filter((p) => p.leaderId === id).length;
    assert.ok(leads(md, a) > 0 && leads(md, b) > 0, "both lead partitions");
    frozen = controller;
    signalChild(cluster.brokers[controller - 1].child, "SIGSTOP");

    // one SIGTERM: two attempts of one second each, then it stops anyway
    const t0 = Date.now();
    assert.equal(await cluster.brokers[a - 1].stop("SIGTERM"), 0);
    const tookA = Date.now() - t0;
    const logA = cluster.brokers[a - 1].log();
    assert.match(logA, /controlled shutdown attempt 1: still leading stuck-/);
    assert.match(logA, /controlled shutdown attempt 2: still leading stuck-/);
    assert.match(logA, /controlled shutdown did not complete: stopping anyway/);
    assert.ok(tookA >= 2_000, `stopped after ${tookA} ms, before its two attempts ended`);

    // two SIGTERMs: the second ends the wait at once
    const child = cluster.brokers[b - 1].child;
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    signalChild(child, "SIGTERM");
    await new Promise<void>((r) => {
      const look = () => (/received SIGTERM, shutting down/.test(cluster.brokers[b - 1].log()) ? r() : setTimeout(look, 20));
      look();
    });
    signalChild(child, "SIGTERM");
    assert.equal(await exited, 0);
    const logB = cluster.brokers[b - 1].log();
    assert.match(logB, /received SIGTERM again: stopping at once/);
    assert.doesNotMatch(logB, /controlled shutdown attempt 2/);
  } finally {
    if (frozen !== null) signalChild(cluster.brokers[frozen - 1].child, "SIGCONT");
    await cluster.close();
  }
});
