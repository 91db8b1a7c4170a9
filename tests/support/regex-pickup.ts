/**
 * The regex-subscription scenario shared by the consumer tests: a member subscribed to `orders-.*` gets the
 * matching topic that exists when it joins, then a matching topic created after it joined (assigned and consumed),
 * while a topic that does not match is never assigned. Members are peer programs printing assigned/records events.
 */
import assert from "node:assert/strict";
import { Producer } from "../../src/client/producer.ts";
import { startTestBroker, type TestBroker } from "./broker.ts";
import type { PeerProcess } from "./json-process.ts";

/** Partitions the member owns after the events so far (assigned minus revoked/lost: eager and incremental alike). */
function ownedAfter(member: PeerProcess): Set<string> {
  const owned = new Set<string>();
  for (const e of member.events) {
    if (e.event === "assigned") for (const p of e.partitions) owned.add(p);
    if (e.event === "revoked" || e.event === "lost") for (const p of e.partitions) owned.delete(p);
  }
  return owned;
}

/** Runs the scenario on a fresh broker (`brokerConfig` added); `check` may inspect the broker before it stops. */
export async function runRegexPickup(opts: {
  startMember: (bootstrap: string) => PeerProcess;
  brokerConfig?: Record<string, string>;
  check?: (b: TestBroker) => void | Promise<void>;
}): Promise<void> {
  const b = await startTestBroker(opts.brokerConfig ?? {});
  // The first topics exist before the member starts: a client that matches a regex against its own metadata
  // (franz-go) would otherwise see them only at its next metadata refresh (5 minutes by default), when its first
  // Metadata request raced ahead of their creation (durable, so no longer instant).
  let started: PeerProcess | null = null;
  try {
    await b.broker.createTopic("orders-eu", 2, 1, {}, false);
    await b.broker.createTopic("payments", 1, 1, {}, false);
    const member = opts.startMember(b.bootstrap);
    started = member;
    await member.waitFor((e) => e.event === "assigned" && ownedAfter(member).has("orders-eu-1"), 60_000, "orders-eu assigned");
    await b.broker.createTopic("orders-us", 3, 1, {}, false);
    await member.waitFor((e) => e.event === "assigned" && ownedAfter(member).has("orders-us-2"), 60_000, "orders-us (created later) assigned");
    const p = new Producer({ bootstrap: b.bootstrap });
    await p.connect();
    await Promise.all([p.send({ topic: "orders-us", key: "a", value: "late" }), p.send({ topic: "payments", key: "a", value: "other" }), p.send({ topic: "orders-eu", key: "b", value: "early" })]);
    await p.close();
    const seen = new Set<string>();
    await member.waitFor((e) => {
      if (e.event === "records") for (const r of e.records) seen.add(`${r[0]}:${r[4]}`);
      return seen.has("orders-us:late") && seen.has("orders-eu:early");
    }, 60_000, "records of both matching topics");
    const assignedTopics = new Set(member.events.filter((e) => e.event === "assigned").flatMap((e) => e.partitions.map((n: string) => n.replace(/-\d+$/, ""))));
    assert.deepEqual([...assignedTopics].sort(), ["orders-eu", "orders-us"]);
    assert.ok(!seen.has("payments:other"));
    await opts.check?.(b);
  } finally {
    if (started !== null) {
      started.send("close");
      await Promise.race([started.exited, new Promise((r) => setTimeout(r, 10_000))]);
      await started.kill();
    }
    await b.stop();
  }
}
