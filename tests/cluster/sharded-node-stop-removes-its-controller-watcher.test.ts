/**
 * A sharded broker of an etcd cluster keeps the active controller's id in a cell its shards read, written by a
 * watcher on the node's control plane (src/cli/start.ts feeds a ControllerWatchers from the plane's
 * `onControllerChange`). Stopping the node removes that watcher: the test's own control plane for node 51 (as
 * `runnel start` builds it) runs a 2-shard node while broker 52 is the controller; once the node stopped, the plane's
 * watchers are empty, and when 52 leaves and 51 becomes the controller, the test's watcher hears of it and the
 * stopped host's does not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BrokerConfig } from "../../src/broker/config.ts";
import { ControlPlane } from "../../src/cluster/control-plane.ts";
import { ControllerWatchers } from "../../src/cluster/controller-watchers.ts";
import { clusterView } from "../../src/cli/start.ts";
import { startShardedNode } from "../../src/shard/sharded-node.ts";
import { testLogger } from "../support/broker.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";

const ctx = sharedTestEtcd();
const NODE_ID = 51;
const OTHER_ID = 52;

test("a stopped sharded node's shard host is told of no controller change", { skip: ETCD_SKIP_REASON, timeout: 120_000 }, async () => {
  const endpoints = [ctx.etcd.endpoint];
  // Broker 52 registers first, so it is the controller while the node runs.
  const other = await ControlPlane.start({ endpoints, nodeId: OTHER_ID });
  let otherClosed = false;
  await other.store.registerBroker({ nodeId: OTHER_ID, brokerEpoch: 0, rack: null, endpoints: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 1, securityProtocol: "PLAINTEXT" }] });
  const watchers = new ControllerWatchers();
  const plane = await ControlPlane.start({ endpoints, nodeId: NODE_ID, onControllerChange: (id) => watchers.notify(id) });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-sharded-controller-watch-"));
  try {
    await other.controllerKnown();
    assert.equal(other.controllerId, OTHER_ID);
    const clusterId = await plane.store.adoptClusterId("Ka1s8SJnTHOGj0R2l3Zr8Q");
    // What the shard host's watcher was told, recorded around it.
    const toHost: number[] = [];
    const config = new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir], ["runnel.shards", "2"], ["node.id", String(NODE_ID)], ["cluster.id", clusterId], ["metadata.etcd.endpoints", ctx.etcd.endpoint]]));
    const node = await startShardedNode(config, {
      logger: testLogger(),
      cluster: { store: plane.store, clusterId, view: clusterView(plane), register: (r) => plane.store.registerBroker(r), readiness: () => plane.readinessProblem(), watchController: (w) => watchers.add((id) => {
        toHost.push(id);
        w(id);
      }) },
    });
    assert.equal(watchers.size, 1, "the running node's shard host watches the controller");
    await node.stop();
    assert.equal(watchers.size, 0, "the stopped node left a controller watcher");

    const told = new Promise<number>((resolve) => watchers.add((id) => id === NODE_ID && resolve(id)));
    await other.close();
    otherClosed = true;
    assert.equal(await told, NODE_ID, "the test's watcher hears that node 51 is the controller");
    assert.deepEqual(toHost.filter((id) => id === NODE_ID), [], "the stopped host's watcher was told of the change");
  } finally {
    if (!otherClosed) await other.close();
    await plane.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
