/**
 * The simulated etcd the cluster simulation runs on keeps the guarantees Runnel relies on, checked through the
 * product's own EtcdClient, EtcdMirror and lease keeper: watches deliver every change once and in revision order
 * (mirrors converge to the store through network cuts), compare-and-set txns are linearizable (no two acknowledged
 * increments of a counter start from the same version), and leases expire on the simulated clock TTL after the
 * last keep-alive, deleting their keys, and never while keep-alives arrive.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Sim } from "./scheduler.ts";
import { SimEtcd } from "./sim-etcd.ts";
import { EtcdClient, kvText } from "../../src/cluster/etcd-client.ts";
import { EtcdMirror } from "../../src/cluster/etcd-watch.ts";
import { LeaseKeeper } from "../../src/cluster/etcd-lease.ts";

const client = (sim: Sim, etcd: SimEtcd, node: number) => new EtcdClient({ endpoints: ["http://etcd:2379"], transport: etcd.transport(node, () => true), clock: sim.clock, requestTimeoutMs: 1000 });

test("watches: three mirrors see every change once, in order, and equal the store after writes, deletes and network cuts (100 seeds)", { timeout: 120_000 }, async () => {
  for (let seed = 1; seed <= 100; seed++) {
    const sim = new Sim(seed);
    const etcd = new SimEtcd(sim, 1 + sim.int(8));
    const clients = [1, 2, 3].map((n) => client(sim, etcd, n));
    const mirrors = clients.map((c) => new EtcdMirror(c, "/r/", sim.clock));
    const revisions: number[][] = [[], [], []];
    mirrors.forEach((m, i) => m.listen((_changed, rev) => revisions[i].push(rev)));
    for (const m of mirrors) void m.start().catch(() => {});
    let writes = 0;
    const write = (): void => {
      if (writes++ >= 80) return;
      const c = clients[sim.int(3)];
      const k = `/r/k${sim.int(6)}`;
      void (sim.chance(0.3) ? c.delete(k) : c.put(k, `v${writes}`)).catch(() => {});
      sim.after(1 + sim.int(15), "write", write);
    };
    sim.after(1, "write", write);
    for (const at of [150, 600]) sim.after(at, "cut", () => {
      etcd.isolate(1 + sim.int(3));
      sim.after(100 + sim.int(400), "heal", () => etcd.heal());
    });
    await sim.run(10_000);
    const truth = JSON.stringify(etcd.peekPrefix("/r/"));
    mirrors.forEach((m, i) => {
      assert.equal(JSON.stringify(m.entries().map((kv) => [kv.key, kvText(kv)])), truth, `seed ${seed}: mirror ${i + 1} differs from the store`);
      for (let k = 1; k < revisions[i].length; k++) assert.ok(revisions[i][k] >= revisions[i][k - 1], `seed ${seed}: mirror ${i + 1} went back from revision ${revisions[i][k - 1]} to ${revisions[i][k]}`);
    });
  }
});

test("compare-and-set is linearizable: acknowledged increments of one counter never start from the same version (50 seeds)", { timeout: 120_000 }, async () => {
  for (let seed = 1; seed <= 50; seed++) {
    const sim = new Sim(seed);
    const etcd = new SimEtcd(sim, 1 + sim.int(8));
    const acked: number[] = [];
    const worker = async (c: EtcdClient): Promise<void> => {
      for (let i = 0; i < 15; i++) {
        try {
          const kv = await c.get("/counter");
          const n = kv === null ? 0 : Number(kvText(kv));
          const r = await c.txn([kv === null ? { key: "/counter", target: "CREATE", result: "EQUAL", value: 0 } : { key: "/counter", target: "MOD", result: "EQUAL", value: kv.modRevision }], [{ put: { key: "/counter", value: String(n + 1) } }]);
          if (r.succeeded) acked.push(n);
        } catch {
          // a timeout: the write may or may not have been applied
        }
      }
    };
    sim.after(200, "cut", () => {
      etcd.isolate(1 + sim.int(3));
      sim.after(300, "heal", () => etcd.heal());
    });
    const done = Promise.all([1, 2, 3].map((n) => worker(client(sim, etcd, n))));
    await sim.run(60_000);
    await done;
    assert.equal(new Set(acked).size, acked.length, `seed ${seed}: two acknowledged increments started from the same value: ${acked.sort((a, b) => a - b)}`);
    const final = Number(etcd.peek("/counter") ?? "0");
    assert.ok(final >= acked.length && final >= Math.max(0, ...acked) + 1, `seed ${seed}: counter ${final} lost acknowledged increments (${acked.length})`);
  }
});

test("leases expire on the simulated clock TTL after the last keep-alive, deleting their keys, and never while kept alive", { timeout: 60_000 }, async () => {
  const sim = new Sim(7);
  const etcd = new SimEtcd(sim, 5);
  const c = client(sim, etcd, 1);
  const lost: string[] = [];
  const leases: LeaseKeeper[] = [];
  void (async () => {
    const kept = await LeaseKeeper.grant(c, { ttlSeconds: 1, clock: sim.clock, onLost: (id) => lost.push(id) });
    const dropped = await LeaseKeeper.grant(c, { ttlSeconds: 1, clock: sim.clock, onLost: (id) => lost.push(id) });
    leases.push(kept, dropped);
    await c.put("/kept", "x", kept.id);
    await c.put("/dropped", "y", dropped.id);
  })();
  await sim.run(500);
  assert.equal(leases.length, 2);
  leases[1].halt(); // keep-alives (every 333 ms) stop at 500 ms: the last one reached etcd after 333 ms
  await sim.run(1300);
  assert.equal(etcd.peek("/dropped"), "y", "not before its TTL ran out");
  await sim.run(1700);
  assert.equal(etcd.peek("/dropped"), null, "deleted once its TTL passed without a keep-alive");
  await sim.run(10_000);
  assert.equal(etcd.peek("/kept"), "x", "a lease kept alive never expires");
  assert.deepEqual(lost, []);
});
