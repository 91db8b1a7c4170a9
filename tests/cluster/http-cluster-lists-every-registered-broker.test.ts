/**
 * `GET /v1/cluster` in cluster mode lists every broker the cluster metadata (etcd) registers, with its state, at
 * a one-shard broker and at a sharded node alike: three `runnel start` brokers with HTTP (broker 2 with 2 shards)
 * and a fourth registration the test holds itself (node 99, which never serves), first RUNNING, then
 * PENDING_CONTROLLED_SHUTDOWN once it marks its controlled shutdown, then gone once it deregisters.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ControlPlane } from "../../src/cluster/control-plane.ts";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster, until } from "../support/cluster-processes.ts";
import { HTTP_LINE, httpJson } from "../support/http-broker.ts";

interface Listed {
  nodeId: number;
  host: string;
  port: number;
  controller: boolean;
  state: string;
}

const HELD = 99;

test("/v1/cluster at a broker and at a sharded node of an etcd cluster lists every registered broker with its state", { skip: ETCD_SKIP_REASON, timeout: 240_000 }, async () => {
  const cluster = await startCluster(["--http", "http://127.0.0.1:0"], (id) => (id === 2 ? ["--shards", "2"] : ["--shards", "1"]));
  let held: ControlPlane | null = null;
  try {
    const urls: string[] = [];
    await until("every broker's HTTP line", 30_000, () => cluster.brokers.every((b) => HTTP_LINE.test(b.log())));
    for (const b of cluster.brokers) urls.push(HTTP_LINE.exec(b.log())![1]);
    const asked = [urls[0], urls[1]]; // broker 1 (one shard) and broker 2 (two shards)
    const listings = async () => Promise.all(asked.map(async (u) => (await httpJson(`${u}/v1/cluster`)).body as { nodeId: number; controllerId: number; brokers: Listed[] }));
    const statesAre = (want: [number, string][]) => async () => (await listings()).every((c) => JSON.stringify(c.brokers.map((x) => [x.nodeId, x.state])) === JSON.stringify(want));

    held = await ControlPlane.start({ endpoints: [cluster.etcd.endpoint], nodeId: HELD, controllerCandidate: false });
    await held.store.registerBroker({ nodeId: HELD, brokerEpoch: 0, rack: null, endpoints: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 1, securityProtocol: "PLAINTEXT" }] });
    await until("both brokers to list 1, 2, 3 and 99 running", 30_000, statesAre([[1, "RUNNING"], [2, "RUNNING"], [3, "RUNNING"], [HELD, "RUNNING"]]));
    for (const [i, c] of (await listings()).entries()) {
      assert.equal(c.nodeId, i + 1);
      assert.ok([1, 2, 3].includes(c.controllerId), `controller ${c.controllerId}`);
      assert.deepEqual(
        c.brokers.map((x) => [x.nodeId, x.host, x.port, x.controller]),
        [...cluster.brokers.map((b, j) => [j + 1, "127.0.0.1", b.port, j + 1 === c.controllerId]), [HELD, "127.0.0.1", 1, false]],
      );
    }

    assert.equal(await held.store.beginControlledShutdown(), true);
    await until("both brokers to list 99 in its controlled shutdown", 30_000, statesAre([[1, "RUNNING"], [2, "RUNNING"], [3, "RUNNING"], [HELD, "PENDING_CONTROLLED_SHUTDOWN"]]));
    await held.close();
    held = null;
    await until("both brokers to list 1, 2 and 3 only", 30_000, statesAre([[1, "RUNNING"], [2, "RUNNING"], [3, "RUNNING"]]));
  } finally {
    await held?.close();
    await cluster.close();
  }
});
