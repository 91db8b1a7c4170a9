/**
 * Control-plane nodes for the etcd tests: each is a broker registration (its lease), a controller election
 * candidate bound to that lease, and a controller, wired as a broker would wire them. Also `until`, which waits for
 * a positive event by polling.
 */
import { BrokerRegistration } from "../../src/cluster/broker-registration.ts";
import { ClusterKeys } from "../../src/cluster/cluster-keys.ts";
import { ClusterController } from "../../src/cluster/controller.ts";
import { ControllerElection } from "../../src/cluster/controller-election.ts";
import { EtcdClient } from "../../src/cluster/etcd-client.ts";
import type { Clock } from "../../src/platform/clock.ts";
import { SeededRandom } from "../../src/platform/random.ts";

/** Resolves when `cond` holds, polling every 20 ms; fails after `ms`. */
export async function until(cond: () => boolean, ms = 30_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One broker's control plane in a test. */
export interface TestNode {
  /** node.id. */
  id: number;
  /** Its registration. */
  registration: BrokerRegistration;
  /** Its election view and candidacy. */
  election: ControllerElection;
  /** Its controller (acts only while elected). */
  controller: ClusterController;
  /** Epochs it was fenced at, in order. */
  fenced: number[];
  /** Epochs it registered with, in order. */
  registered: number[];
  /** Controller epochs it was elected with, in order. */
  elected: number[];
  /** Stops everything (deregisters). */
  close(): Promise<void>;
}

/** Starts a node: registers, watches the controller key, campaigns, and runs a controller. */
export async function startNode(endpoint: string, root: string, id: number, opts: { rack?: string | null; clock?: Clock; ttlSeconds?: number; seed?: number } = {}): Promise<TestNode> {
  const client = new EtcdClient({ endpoints: [endpoint], requestTimeoutMs: 2_000 });
  const keys = new ClusterKeys(root);
  const fenced: number[] = [];
  const registered: number[] = [];
  const elected: number[] = [];
  const election = new ControllerElection(client, keys, { nodeId: id, candidate: true, onElected: (e) => elected.push(e) });
  const registration = new BrokerRegistration(client, keys, {
    nodeId: id,
    rack: opts.rack ?? null,
    endpoints: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 9000 + id, securityProtocol: "PLAINTEXT" }],
    sessionTimeoutSeconds: opts.ttlSeconds ?? 2,
    clock: opts.clock,
    onFenced: (e) => {
      fenced.push(e);
      election.setLease(null);
    },
    onRegistered: (e, lease) => {
      registered.push(e);
      election.setLease(lease);
    },
  });
  const controller = new ClusterController(client, keys, election, { random: new SeededRandom(opts.seed ?? id) });
  await controller.start();
  await election.start();
  await registration.start();
  return {
    id,
    registration,
    election,
    controller,
    fenced,
    registered,
    elected,
    async close() {
      controller.close();
      await election.close();
      await registration.stop();
    },
  };
}
