/**
 * Broker registration against a real etcd: the epoch is the key's create revision, a second process with the same
 * node.id is refused with DUPLICATE_BROKER_REGISTRATION, a lease that expires (keep-alives stopped) fences the broker
 * and it re-registers with a higher epoch, and stopping deregisters.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { BrokerSession } from "../../src/cluster/broker-session.ts";
import { ClusterKeys, decodeBroker } from "../../src/cluster/cluster-keys.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { until } from "./cluster-fixture.ts";

const skip = ETCD_SKIP_REASON;
const ctx = sharedTestEtcd();

const endpoints = [{ name: "PLAINTEXT", host: "127.0.0.1", port: 9092, securityProtocol: "PLAINTEXT" }, { name: "REPLICATION", host: "10.0.0.1", port: 9093, securityProtocol: "PLAINTEXT" }];

test("registration: record and epoch in etcd; a duplicate node.id is refused; stop deregisters", { skip, timeout: 60_000 }, async () => {
  const keys = new ClusterKeys("/reg1");
  const a = new BrokerSession(ctx.client, keys, { nodeId: 1, rack: "rack-a", endpoints, sessionTimeoutSeconds: 2 });
  const epoch = await a.start();
  const kv = (await ctx.client.get(keys.broker(1)))!;
  const b = decodeBroker(kv);
  assert.equal(b.brokerEpoch, epoch);
  assert.equal(b.nodeId, 1);
  assert.equal(b.rack, "rack-a");
  assert.deepEqual(b.endpoints, endpoints);
  assert.equal(kv.lease, a.leaseId);

  const dup = new BrokerSession(ctx.client, keys, { nodeId: 1, rack: null, endpoints, sessionTimeoutSeconds: 2 });
  await assert.rejects(dup.start(300), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.DUPLICATE_BROKER_REGISTRATION);
  await dup.stop();
  assert.equal((await ctx.client.get(keys.broker(1)))!.createRevision, epoch, "the refused duplicate did not touch the registration");

  await a.stop();
  assert.equal(await ctx.client.get(keys.broker(1)), null);
  assert.equal(a.epoch, -1);
});

test("lease expiry fences the broker; it re-registers with a new, higher epoch", { skip, timeout: 60_000 }, async () => {
  const keys = new ClusterKeys("/reg2");
  const clock = new ManualClock(); // keep-alives fire only when the test moves this clock
  const fenced: number[] = [];
  const registered: number[] = [];
  const reg = new BrokerSession(ctx.client, keys, {
    nodeId: 7, rack: null, endpoints, sessionTimeoutSeconds: 1, clock,
    onFenced: (e) => fenced.push(e),
    onRegistered: (e) => registered.push(e),
  });
  const first = await reg.start();
  try {
    // keep-alives (one per 333 ms of clock) keep it registered for longer than the real TTL
    const granted = await ctx.client.leaseTimeToLive(reg.leaseId!);
    const until_ = Date.now() + (granted + 1) * 1000;
    while (Date.now() < until_) {
      clock.advance(300);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal((await ctx.client.get(keys.broker(7)))?.createRevision, first, "still registered after more than one TTL");
    assert.deepEqual(fenced, []);
    // no keep-alives now: etcd expires the lease and deletes the registration
    const expiryDeadline = Date.now() + (granted + 20) * 1000;
    while ((await ctx.client.get(keys.broker(7))) !== null) {
      assert.ok(Date.now() < expiryDeadline, `registration still present ${granted + 20} s after keep-alives stopped`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(reg.epoch, first, "the broker does not know yet");
    clock.advance(1_000); // the next keep-alive hears TTL 0
    await until(() => registered.length === 2, 20_000, "re-registration");
    assert.deepEqual(fenced, [first]);
    assert.ok(registered[1] > first, `new epoch ${registered[1]} > ${first}`);
    assert.equal(reg.epoch, registered[1]);
    assert.equal((await ctx.client.get(keys.broker(7)))!.createRevision, registered[1]);
  } finally {
    await reg.stop();
  }
});
