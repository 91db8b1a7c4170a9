/**
 * TestEtcd.resume (etcd started again on its kept ports after an outage) waits for a port taken while etcd was down
 * and tries again, instead of failing the test: a CI run lost tests/cluster/etcd-down-three-brokers-keep-serving to
 * "bind: address already in use" on etcd's client port, most likely a broker's reconnect to 127.0.0.1:port that got
 * that very port as its local one (a TCP self-connect).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { ETCD_SKIP_REASON, TestEtcd } from "./etcd.ts";

test(`etcd resumed while its client port is taken starts once the port is free${ETCD_SKIP_REASON ? ` (${ETCD_SKIP_REASON})` : ""}`, { skip: ETCD_SKIP_REASON }, async () => {
  const etcd = await TestEtcd.start();
  const port = Number(new URL(etcd.endpoint).port);
  const holder = net.createServer((s) => s.destroy());
  try {
    await etcd.stop();
    await new Promise<void>((resolve, reject) => {
      holder.once("error", reject);
      holder.listen(port, "127.0.0.1", () => resolve());
    });
    const resumed = etcd.resume();
    // free the port only once etcd has failed on it: the start must then wait and try again
    const failedOnPort = (async () => {
      while (!/address already in use/i.test(etcd.output())) await new Promise((r) => setTimeout(r, 20));
    })();
    await Promise.race([failedOnPort, resumed.then(() => assert.fail("etcd started on a port held by another listener"))]);
    await new Promise((r) => holder.close(r));
    await resumed;
    const r = await fetch(`${etcd.endpoint}/health`);
    assert.equal((await r.json()).health, "true");
  } finally {
    if (holder.listening) await new Promise((r) => holder.close(r));
    await etcd.close();
  }
});
