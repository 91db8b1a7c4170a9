/**
 * @platformatic/kafka against Runnel beyond the round trip: an idempotent producer's 300 records are each written
 * once; a transactional producer commits, aborts and commits again, and a read_committed consumer in a group
 * reads only the committed records, committing each one; the admin client lists and describes the group, reads its
 * committed offset (past the last commit marker's record) and deletes it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { readCommittedView } from "../support/group-state.ts";
import { Consumer as RunnelConsumer } from "../../src/client/consumer.ts";

test("@platformatic/kafka: idempotent producer, transactions read with read_committed by a group, group admin", { timeout: 120_000 }, async () => {
  const { Admin, Producer, Consumer, ProduceAcks } = await import("@platformatic/kafka");
  const b = await startTestBroker({ "transaction.state.log.num.partitions": "3" });
  const base = { bootstrapBrokers: [b.bootstrap] };
  const admin = new Admin({ clientId: "pt-admin", ...base });
  const idem = new Producer({ clientId: "pt-idem", idempotent: true, acks: ProduceAcks.ALL, ...base });
  const txn = new Producer({ clientId: "pt-txn", idempotent: true, transactionalId: "pt-txn", acks: ProduceAcks.ALL, ...base });
  const consumer = new Consumer({ groupId: "pt-g", clientId: "pt-cons", isolationLevel: 1, sessionTimeout: 10_000, heartbeatInterval: 500, ...base });
  try {
    await admin.createTopics({ topics: ["pt-a"], partitions: 3, replicas: 1 });
    await admin.createTopics({ topics: ["pt-b"], partitions: 1, replicas: 1 });

    // Six sends of 50 records, one after the other (this client version numbers concurrent idempotent sends from the
    // same sequence, which Kafka and Runnel both take for retries); the log is checked: every record once.
    for (let s = 0; s < 300; s += 50) {
      await idem.send({ messages: Array.from({ length: 50 }, (_, j) => ({ topic: "pt-a", key: Buffer.from(`k${s + j}`), value: Buffer.from(`v${s + j}`) })) });
    }
    const reader = new RunnelConsumer({ bootstrap: b.bootstrap, autoOffsetReset: "earliest", fetchMaxWaitMs: 100 });
    await reader.connect();
    reader.assign([0, 1, 2].map((partition) => ({ topic: "pt-a", partition })));
    const values: string[] = [];
    for (const deadline = Date.now() + 30_000; values.length < 300 && Date.now() < deadline; ) for (const r of await reader.poll(200)) values.push(new TextDecoder().decode(r.value!));
    await reader.close();
    assert.deepEqual(values.sort(), Array.from({ length: 300 }, (_, i) => `v${i}`).sort(), "the idempotent producer wrote every record once");
    const ends = await Promise.all([0, 1, 2].map(async (p) => (await readCommittedView(b.port, "pt-a", p)).highWatermark));
    assert.equal(ends.reduce((n, e) => n + e, 0n), 300n, "no record twice in the log (a retried send would add one)");

    const batch = (prefix: string) => Array.from({ length: 10 }, (_, i) => ({ topic: "pt-b", partition: 0, key: Buffer.from(`${prefix}${i}`), value: Buffer.from(`${prefix}-${i}`) }));
    for (const [prefix, end] of [["c", "commit"], ["a", "abort"], ["c2", "commit"]] as const) {
      const t = await txn.beginTransaction();
      await t.send({ messages: batch(prefix) });
      await (end === "commit" ? t.commit() : t.abort());
    }

    const seen: string[] = [];
    let lastOffset = -1n;
    const stream = await consumer.consume({ topics: ["pt-b"], mode: "earliest", autocommit: false });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${seen.join(",")} in 60 s`)), 60_000);
      stream.on("data", (m) => {
        seen.push(m.value.toString());
        (m.commit() as Promise<void>).then(() => {
          if (m.value.toString() !== "c2-9") return;
          lastOffset = m.offset;
          clearTimeout(timer);
          resolve();
        }, reject);
      });
      stream.on("error", reject);
    });
    await stream.close();
    // The aborted records sit between the two committed transactions in the log, so reaching c2-9 proves they were skipped.
    assert.deepEqual(seen, [...batch("c"), ...batch("c2")].map((m) => m.value.toString()), "read_committed: committed records only, in order");

    const groups = await admin.listGroups();
    assert.equal(groups.get("pt-g")?.protocolType, "consumer");
    const offsets = await admin.listConsumerGroupOffsets({ groups: ["pt-g"] });
    const committed = offsets[0].topics.find((t) => t.name === "pt-b")!.partitions[0].committedOffset;
    assert.equal(committed, lastOffset + 1n, "the group committed past the last committed record");
    await consumer.close(true);
    const described = await admin.describeGroups({ groups: ["pt-g"] });
    assert.equal(described.get("pt-g")?.state, "EMPTY");
    await admin.deleteGroups({ groups: ["pt-g"] });
    assert.ok(!(await admin.listGroups()).has("pt-g"), "the group is gone");
  } finally {
    await Promise.resolve(consumer.close(true) as unknown).catch(() => {});
    await idem.close().catch(() => {});
    await txn.close().catch(() => {});
    await admin.close().catch(() => {});
    await b.stop();
  }
});
