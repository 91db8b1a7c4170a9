/**
 * Controller election through etcd: the controller key is created only if absent (a create-revision compare) and
 * bound to the candidate's lease, so at most one broker holds it and it vanishes when that broker's lease does. The
 * controller epoch is the key's create revision; the controller's own writes compare it, so a deposed controller
 * cannot write. Every broker watches the key: it knows who the controller is (Metadata's controller_id) and, when
 * it is a candidate with a live lease and the key is gone, campaigns.
 */
import type { Clock } from "../platform/clock.ts";
import { systemClock } from "../platform/clock.ts";
import { kvText, type Compare, type EtcdClient } from "./etcd-client.ts";
import { EtcdMirror } from "./etcd-watch.ts";
import type { ClusterKeys } from "./cluster-keys.ts";

/** Pause before campaigning again after a failed attempt (etcd unreachable), ms. */
export const CONTROLLER_CAMPAIGN_RETRY_BACKOFF_MS = 250;

/** Who controls the cluster now. */
export interface ControllerView {
  /** The active controller's node id, or -1 when there is none. */
  controllerId: number;
  /** Its epoch (the controller key's create revision), or -1. */
  epoch: number;
}

/** Election settings. */
export interface ControllerElectionOptions {
  /** This broker's `node.id`. */
  nodeId: number;
  /** Whether this broker may become controller. */
  candidate: boolean;
  /** Clock for retries and the watch. */
  clock?: Clock;
  /** This broker became the active controller with `epoch`. */
  onElected?(epoch: number): void;
  /** This broker stopped being the active controller (its key vanished or belongs to someone else now). */
  onResigned?(epoch: number): void;
  /** The controller changed (any broker). */
  onChange?(view: ControllerView): void;
}

/** One broker's view of, and candidacy in, the controller election. */
export class ControllerElection {
  private readonly client: EtcdClient;
  private readonly keys: ClusterKeys;
  private readonly opts: ControllerElectionOptions;
  private readonly clock: Clock;
  private readonly mirror: EtcdMirror;
  private lease: string | null = null;
  private view: ControllerView = { controllerId: -1, epoch: -1 };
  private activeEpoch = -1;
  private campaigning = false;
  private closed = false;
  /** Callers of {@link controllerKnown} still waiting: resolved once a controller is known, rejected by {@link close}. */
  private awaitingController: { resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(client: EtcdClient, keys: ClusterKeys, opts: ControllerElectionOptions) {
    this.client = client;
    this.keys = keys;
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.mirror = new EtcdMirror(client, keys.controllerPrefix, this.clock);
    this.mirror.listen(() => this.update());
  }

  /** Starts watching the controller key (resolves after the first read). */
  async start(): Promise<void> {
    await this.mirror.start();
    this.update();
  }

  /** The controller as last seen. */
  get current(): ControllerView {
    return this.view;
  }

  /**
   * Resolves once a controller is known (at once when one is): it may still change, or be gone again, later.
   * Rejects when the election is (or gets) closed before a controller is known.
   */
  controllerKnown(): Promise<void> {
    if (this.view.controllerId >= 0) return Promise.resolve();
    if (this.closed) return Promise.reject(electionClosed());
    return new Promise((resolve, reject) => this.awaitingController.push({ resolve, reject }));
  }

  /** Whether this broker is the active controller. */
  get isActive(): boolean {
    return this.activeEpoch >= 0;
  }

  /** The compare that holds only while this broker is still the controller of `epoch` (add it to every write). */
  fence(epoch: number): Compare {
    return { key: this.keys.controller, target: "CREATE", result: "EQUAL", value: epoch };
  }

  /** Sets the lease to campaign with (the broker registration's), or null while fenced (resigns if active). */
  setLease(leaseId: string | null): void {
    this.lease = leaseId;
    this.update();
  }

  /** Stops watching and campaigning; resigns by deleting the key if this broker holds it. Rejects every {@link controllerKnown} still waiting. */
  async close(): Promise<void> {
    this.closed = true;
    this.mirror.close();
    for (const w of this.awaitingController.splice(0)) w.reject(electionClosed());
    const epoch = this.activeEpoch;
    this.setActive(-1);
    if (epoch >= 0) await this.client.txn([this.fence(epoch)], [{ delete: { key: this.keys.controller } }]).catch(() => {});
  }

  private update(): void {
    const kv = this.mirror.get(this.keys.controller);
    const view: ControllerView = kv ? { controllerId: JSON.parse(kvText(kv)).nodeId as number, epoch: kv.createRevision } : { controllerId: -1, epoch: -1 };
    const mine = kv !== undefined && view.controllerId === this.opts.nodeId && this.lease !== null && kv.lease === this.lease;
    const changed = view.controllerId !== this.view.controllerId || view.epoch !== this.view.epoch;
    // the view first: a newly elected controller fences its first writes with `current.epoch`
    if (changed) this.view = view;
    this.setActive(mine && !this.closed ? view.epoch : -1);
    if (changed) this.opts.onChange?.(view);
    if (view.controllerId >= 0 && this.awaitingController.length > 0) for (const w of this.awaitingController.splice(0)) w.resolve();
    if (!kv && this.opts.candidate && this.lease && !this.closed) void this.campaign();
  }

  private setActive(epoch: number): void {
    if (epoch === this.activeEpoch) return;
    const old = this.activeEpoch;
    this.activeEpoch = epoch;
    if (old >= 0) this.opts.onResigned?.(old);
    if (epoch >= 0) this.opts.onElected?.(epoch);
  }

  private async campaign(): Promise<void> {
    if (this.campaigning) return;
    this.campaigning = true;
    try {
      while (!this.closed && this.lease && !this.mirror.get(this.keys.controller)) {
        const key = this.keys.controller;
        try {
          const r = await this.client.txn(
            [{ key, target: "CREATE", result: "EQUAL", value: 0 }],
            [{ put: { key, value: JSON.stringify({ nodeId: this.opts.nodeId }), lease: this.lease } }],
            [{ range: { key } }],
          );
          // Won or lost, the mirror shows the outcome once it reaches this revision.
          await this.mirror.waitFor(r.succeeded ? r.revision : (r.results[0]?.kvs[0]?.modRevision ?? r.revision));
          return;
        } catch {
          await new Promise((res) => this.clock.setTimer(() => res(undefined), CONTROLLER_CAMPAIGN_RETRY_BACKOFF_MS));
        }
      }
    } finally {
      this.campaigning = false;
    }
  }
}

/** What a {@link ControllerElection.controllerKnown} waiting when the election closes rejects with. */
function electionClosed(): Error {
  return new Error("the controller election closed before a controller was known");
}
