/**
 * A broker of an etcd cluster says it listens (and is ready) only once it knows the active controller, so the first
 * Metadata a client sends names it: a Kafka admin client sends CreateTopics and other controller requests to
 * Metadata's controller_id, and kafkajs fails them at once on -1 ("Broker -1 not found in the cached metadata").
 * The controller campaign that follows the broker's registration is held back by an injected etcd transport, so
 * the broker registers long before any controller is known; one broker in-process, and a node of 2 shards
 * (runnel start --shards 2 with the transport injected), whose shards answer Metadata.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Broker } from "../../src/broker/broker.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { clusterView } from "../../src/cli/start.ts";
import { ClusterKeys } from "../../src/cluster/cluster-keys.ts";
import { ControlPlane } from "../../src/cluster/control-plane.ts";
import { ETCD_SKIP_REASON, sharedTestEtcd } from "../support/etcd.ts";
import { LISTENING_LINE, ROOT } from "../support/broker-process.ts";
import { signalChild } from "../support/proc.ts";
import { RawClient } from "../support/raw-client.ts";
import { slowControllerCampaign } from "./fixtures/slow-controller-campaign.ts";

const skip = ETCD_SKIP_REASON;
const ctx = sharedTestEtcd();
/** How long the first controller campaign is held back: far longer than a start and a Metadata round trip. */
const CAMPAIGN_DELAY_MS = 4_000;

/** Metadata's controller_id as the broker at `port` answers the first request of a new connection. */
async function controllerOf(port: number): Promise<number> {
  const c = await RawClient.connect(port);
  try {
    return (await c.request(3, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })).controllerId as number;
  } finally {
    c.close();
  }
}

test("a broker of an etcd cluster whose controller is not yet elected listens only once it knows it", { skip, timeout: 120_000 }, async () => {
  const root = "/listens-once-controller-known";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-controller-known-"));
  let held = false;
  const plane = await ControlPlane.start({ endpoints: [ctx.etcd.endpoint], root, nodeId: 61, sessionTimeoutMs: 2_000, transport: slowControllerCampaign(new ClusterKeys(root).controller, CAMPAIGN_DELAY_MS, () => (held = true)) });
  let broker: Broker | null = null;
  try {
    const config = BrokerConfig.load({ overrides: new Map([["node.id", "61"], ["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", dir], ["metadata.etcd.endpoints", ctx.etcd.endpoint]]) });
    config.values.set("cluster.id", await plane.store.adoptClusterId("bGlzdGVucy1vbmNlLWtub3du"));
    broker = await Broker.start(config, { metadata: plane.store, cluster: clusterView(plane) });
    assert.ok(held, "the controller campaign was held back after the registration");
    assert.equal(await controllerOf(broker.port), 61, "the first Metadata names the controller");
  } finally {
    await broker?.stop();
    await plane.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a sharded broker of an etcd cluster says it listens only once its shards name the controller", { skip, timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-controller-known-sharded-"));
  const args = ["--port", "0", "--data-dir", dir, "--shards", "2", "-o", "node.id=62", "-o", `metadata.etcd.endpoints=${ctx.etcd.endpoint}`, "-o", "broker.session.timeout.ms=2000"];
  const child = spawn(path.join(ROOT, "node_modules/.bin/bun"), [path.join(ROOT, "tests/cluster/fixtures/node-with-slow-controller-campaign.ts"), ...args], { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT, env: { ...process.env, RUNNEL_TEST_CAMPAIGN_DELAY_MS: String(CAMPAIGN_DELAY_MS) } });
  let log = "";
  const exited = new Promise<number | string | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
  const listening = new Promise<number>((resolve, reject) => {
    child.stderr!.on("data", (b) => {
      log += b.toString();
      const m = LISTENING_LINE.exec(log);
      if (m) resolve(Number(m[1]));
    });
    child.stdout!.on("data", (b) => (log += b.toString()));
    void exited.then((code) => reject(new Error(`the node exited (${code}) before listening:\n${log.slice(-3000)}`)));
  });
  try {
    const port = await listening;
    assert.match(log, /controller campaign held back/, "the controller campaign was held back");
    assert.equal(await controllerOf(port), 62, `the first Metadata names the controller\n${log.slice(-2000)}`);
    signalChild(child, "SIGTERM"); // by pid: Deno's child.kill() reports the exit as by signal
    assert.equal(await exited, 0, log.slice(-3000));
  } finally {
    if (child.exitCode === null) signalChild(child, "SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
