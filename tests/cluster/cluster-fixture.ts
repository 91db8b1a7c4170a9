/**
 * Control-plane nodes for the etcd tests: each is a broker's ControlPlane (metadata store holding the broker's
 * registration, controller election bound to its lease, controller), started and registered as a broker does.
 * Also `until`, which waits for a positive event by polling.
 */
import { ControlPlane } from "../../src/cluster/control-plane.ts";
import type { ClusterController } from "../../src/cluster/controller.ts";
import type { ControllerElection } from "../../src/cluster/controller-election.ts";
import type { EtcdMetadataStore } from "../../src/cluster/etcd-metadata-store.ts";
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

/** One broker's control plane in a test, with what it was told. */
export interface TestNode {
  /** node.id. */
  id: number;
  /** Its control plane. */
  plane: ControlPlane;
  /** Its metadata store (holding its registration). */
  store: EtcdMetadataStore;
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

/** Starts a node as a broker would: starts its control plane, then registers. */
export async function startNode(endpoint: string, root: string, id: number, opts: { rack?: string | null; clock?: Clock; ttlSeconds?: number; seed?: number } = {}): Promise<TestNode> {
  const fenced: number[] = [];
  const registered: number[] = [];
  const elected: number[] = [];
  const plane = await ControlPlane.start({
    endpoints: [endpoint],
    root,
    nodeId: id,
    sessionTimeoutMs: (opts.ttlSeconds ?? 2) * 1000,
    requestTimeoutMs: 2_000,
    clock: opts.clock,
    random: new SeededRandom(opts.seed ?? id),
    onFenced: (e) => fenced.push(e),
    onRegistered: (e) => registered.push(e),
    onElected: (e) => elected.push(e),
  });
  await plane.store.registerBroker({ nodeId: id, brokerEpoch: -1, rack: opts.rack ?? null, endpoints: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 9000 + id, securityProtocol: "PLAINTEXT" }] });
  return { id, plane, store: plane.store, election: plane.election, controller: plane.controller, fenced, registered, elected, close: () => plane.close() };
}
