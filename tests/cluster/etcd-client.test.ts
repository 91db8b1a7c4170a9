/**
 * The etcd gateway client against a real etcd: KV range/put/delete, txn compares, leases (grant, keep-alive,
 * time-to-live, revoke deleting bound keys), a stopped etcd surfacing as the retriable EtcdUnavailableError, and
 * watches that resume after an etcd restart without losing or repeating an event, and a mirror that relists after
 * compaction.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EtcdClient, EtcdUnavailableError, kvText } from "../../src/cluster/etcd-client.ts";
import { EtcdMirror, EtcdWatch, type WatchEvent } from "../../src/cluster/etcd-watch.ts";
import { ErrorCode, errorCodeOf, isRetriable } from "../../src/protocol/errors.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { until } from "./cluster-fixture.ts";

const skip = ETCD_SKIP_REASON;
const ctx = sharedTestEtcd();

test("put, get, prefix range and delete round-trip UTF-8 keys and binary values", { skip }, async () => {
  const bin = new Uint8Array([0, 1, 2, 255, 254]);
  const r1 = await ctx.client.put("/kv/a/é", "first");
  const r2 = await ctx.client.put("/kv/a/b", bin);
  await ctx.client.put("/kv/b", "other");
  assert.ok(r2 > r1);
  const one = await ctx.client.get("/kv/a/é");
  assert.equal(one && kvText(one), "first");
  assert.equal(one!.createRevision, r1);
  const { kvs } = await ctx.client.range("/kv/a/", { prefix: true });
  assert.deepEqual(kvs.map((k) => k.key), ["/kv/a/b", "/kv/a/é"]);
  assert.deepEqual(kvs[0].value, bin);
  assert.equal(await ctx.client.delete("/kv/a/", true), 2);
  assert.equal(await ctx.client.get("/kv/a/b"), null);
  assert.equal((await ctx.client.get("/kv/b"))?.version, 1);
});

test("txn: a create-revision compare lets exactly one creator win; a mod-revision compare detects a lost update", { skip }, async () => {
  const create = () => ctx.client.txn([{ key: "/txn/k", target: "CREATE", result: "EQUAL", value: 0 }], [{ put: { key: "/txn/k", value: "v1" } }], [{ range: { key: "/txn/k" } }]);
  const [a, b] = await Promise.all([create(), create()]);
  assert.equal([a, b].filter((r) => r.succeeded).length, 1);
  const loser = a.succeeded ? b : a;
  assert.equal(kvText(loser.results[0].kvs[0]), "v1");
  const kv = (await ctx.client.get("/txn/k"))!;
  const cas = (v: string) => ctx.client.txn([{ key: "/txn/k", target: "MOD", result: "EQUAL", value: kv.modRevision }], [{ put: { key: "/txn/k", value: v } }]);
  assert.equal((await cas("v2")).succeeded, true);
  assert.equal((await cas("v3")).succeeded, false);
  assert.equal(kvText((await ctx.client.get("/txn/k"))!), "v2");
});

test("leases: keep-alive refreshes, revoke deletes bound keys, keep-alive of a revoked lease reports 0", { skip }, async () => {
  const lease = await ctx.client.leaseGrant(30);
  assert.equal(lease.ttl, 30);
  await ctx.client.put("/lease/k", "bound", lease.id);
  assert.equal(await ctx.client.leaseKeepAlive(lease.id), 30);
  const ttl = await ctx.client.leaseTimeToLive(lease.id);
  assert.ok(ttl > 0 && ttl <= 30);
  await ctx.client.leaseRevoke(lease.id);
  assert.equal(await ctx.client.get("/lease/k"), null);
  assert.equal(await ctx.client.leaseKeepAlive(lease.id), 0);
  await ctx.client.leaseRevoke(lease.id); // already gone: not an error
});

test("watch: events arrive in order, and after etcd restarts the watch resumes with no event lost or repeated", { skip, timeout: 120_000 }, async () => {
  const start = await ctx.client.put("/w/start", "x");
  const seen: WatchEvent[] = [];
  let ups = 0;
  const watch = new EtcdWatch(ctx.client, { key: "/w/k", prefix: true, startRevision: start + 1 }, {
    onEvents: (events) => seen.push(...events),
    onCompacted: () => assert.fail("not compacted"),
    onConnection: (up) => void (up && ups++),
  });
  try {
    await until(() => ups === 1, 20_000, "watch created");
    for (let i = 0; i < 5; i++) await ctx.client.put(`/w/k${i}`, `v${i}`);
    await ctx.client.delete("/w/k0");
    await until(() => seen.length === 6, 20_000, "6 events");
    await ctx.etcd.stop();
    await ctx.etcd.resume();
    // written while the watch is reconnecting: it must still see these, once each
    for (let i = 5; i < 10; i++) await ctx.client.put(`/w/k${i}`, `v${i}`);
    await until(() => seen.length === 11 && ups >= 2, 30_000, "11 events after restart");
    assert.deepEqual(seen.map((e) => `${e.type} ${e.kv.key}`), [
      ...[0, 1, 2, 3, 4].map((i) => `put /w/k${i}`),
      "delete /w/k0",
      ...[5, 6, 7, 8, 9].map((i) => `put /w/k${i}`),
    ]);
    const revs = seen.map((e) => e.kv.modRevision);
    assert.deepEqual(revs, [...revs].sort((a, b) => a - b));
    assert.equal(new Set(revs).size, revs.length);
  } finally {
    watch.close();
    await watch.done;
  }
});

test("mirror: follows puts and deletes, relists after its history is compacted, and keeps serving reads while etcd is down", { skip, timeout: 120_000 }, async () => {
  await ctx.client.put("/m/a", "1");
  const clock = new ManualClock(); // the watch reconnects only when the test moves this clock
  const mirror = new EtcdMirror(ctx.client, "/m/", clock);
  await mirror.start();
  try {
    assert.deepEqual(mirror.entries().map(kvText), ["1"]);
    const r = await ctx.client.put("/m/b", "2");
    await mirror.waitFor(r);
    assert.equal(kvText(mirror.get("/m/b")!), "2");
    // stop the watch from seeing history: etcd down, changes made while it is away are compacted on return
    await ctx.etcd.stop();
    await until(() => !mirror.live, 20_000, "watch noticed etcd down");
    assert.equal(kvText(mirror.get("/m/a")!), "1", "reads from the mirror work while etcd is down");
    await assert.rejects(ctx.client.put("/m/c", "3"), (e: unknown) => {
      assert.ok(e instanceof EtcdUnavailableError);
      assert.equal(errorCodeOf(e), ErrorCode.REQUEST_TIMED_OUT);
      assert.ok(isRetriable(errorCodeOf(e)));
      return true;
    });
    await ctx.etcd.resume();
    await ctx.client.delete("/m/a");
    const last = await ctx.client.put("/m/c", "3");
    await ctx.client.compact(last);
    await until(() => (clock.advance(100), mirror.revision >= last) && mirror.get("/m/a") === undefined && mirror.get("/m/c") !== undefined, 30_000, "mirror caught up");
    assert.deepEqual(mirror.entries().map((k) => k.key), ["/m/b", "/m/c"]);
  } finally {
    mirror.close();
  }
});

test("watch: a hung etcd (no reset, no answer) is noticed by the liveness probe; the watch resumes when it answers again", { skip, timeout: 120_000 }, async () => {
  const client = new EtcdClient({ endpoints: [ctx.etcd.endpoint], requestTimeoutMs: 500 });
  const start = await client.put("/hung/start", "x");
  const seen: WatchEvent[] = [];
  const states: boolean[] = [];
  const watch = new EtcdWatch(client, { key: "/hung/k", prefix: true, startRevision: start + 1, probeIntervalMs: 300 }, {
    onEvents: (events) => seen.push(...events),
    onCompacted: () => assert.fail("not compacted"),
    onConnection: (up) => void states.push(up),
  });
  try {
    await until(() => states.includes(true), 20_000, "watch created");
    await client.put("/hung/k1", "1");
    await until(() => seen.length === 1, 20_000, "first event");
    ctx.etcd.pause();
    await until(() => states.at(-1) === false, 20_000, "the probe notices etcd does not answer");
    ctx.etcd.unpause();
    await until(() => states.at(-1) === true, 30_000, "reconnected");
    await client.put("/hung/k2", "2");
    await until(() => seen.length === 2, 20_000, "event after the hang");
    assert.deepEqual(seen.map((e) => e.kv.key), ["/hung/k1", "/hung/k2"]);
  } finally {
    ctx.etcd.unpause();
    watch.close();
    await watch.done;
  }
});
