/**
 * A broker's registration in etcd: its record (node id, rack, endpoints) under a key bound to its own lease, created
 * only if absent, so two processes can never hold one `node.id`. The broker epoch is the key's create revision, new
 * on every registration. When etcd says the lease is gone (expired while the broker could not keep it alive, or
 * revoked), the broker is fenced: `onFenced` runs, then it registers again with a new lease and a new epoch.
 */
import type { Clock } from "../platform/clock.ts";
import { systemClock } from "../platform/clock.ts";
import { systemRandom, type RandomSource } from "../platform/random.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { EtcdClient } from "./etcd-client.ts";
import { LeaseKeeper } from "./etcd-lease.ts";
import type { ClusterKeys, StoredBrokerRecord } from "./cluster-keys.ts";
import type { BrokerEndpoint } from "./metadata-store.ts";

/** Pause between registration attempts while the old registration (or etcd) is in the way, ms. */
export const BROKER_REGISTRATION_RETRY_BACKOFF_MS = 250;

/** Session settings. */
export interface BrokerSessionOptions {
  /** `node.id`. */
  nodeId: number;
  /** `broker.rack`, or null. */
  rack: string | null;
  /** Advertised listeners. */
  endpoints: BrokerEndpoint[];
  /** Lease TTL, seconds (Kafka's `broker.session.timeout.ms` / 1000). */
  sessionTimeoutSeconds: number;
  /** Clock for keep-alives and retries. */
  clock?: Clock;
  /** Randomness for the incarnation id. */
  random?: RandomSource;
  /** The broker lost its lease: it must stop acting on epoch `epoch` (called before re-registering). */
  onFenced?(epoch: number): void;
  /** The broker holds a registration with this epoch and lease (first time and after every re-registration). */
  onRegistered?(epoch: number, leaseId: string): void;
  /**
   * The broker's offline-replica record (JSON of an OfflineReplicasRecord) or null while no log dir failed: written
   * with every registration, under its lease, so a re-registration after a lost lease carries it too.
   */
  offlineReplicas?(): string | null;
}

/** One broker's session: its registration and the lease it lives under. */
export class BrokerSession {
  private readonly client: EtcdClient;
  private readonly keys: ClusterKeys;
  private readonly opts: BrokerSessionOptions;
  private readonly clock: Clock;
  private record: StoredBrokerRecord;
  private lease: LeaseKeeper | null = null;
  private currentEpoch = -1;
  private stopped = false;

  constructor(client: EtcdClient, keys: ClusterKeys, opts: BrokerSessionOptions) {
    this.client = client;
    this.keys = keys;
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.record = { nodeId: opts.nodeId, rack: opts.rack, endpoints: opts.endpoints, incarnationId: (opts.random ?? systemRandom).uuid() };
  }

  /** The `node.id` this session registers. */
  get nodeId(): number {
    return this.opts.nodeId;
  }

  /** The broker epoch, or -1 while not registered (fenced). */
  get epoch(): number {
    return this.currentEpoch;
  }

  /** The lease the registration is bound to (null while not registered). */
  get leaseId(): string | null {
    return this.currentEpoch >= 0 && this.lease ? this.lease.id : null;
  }

  /**
   * Registers, waiting up to `waitMs` for an older registration of this node id to expire (a restarted broker
   * finds its previous one until its lease runs out). Rejects with DUPLICATE_BROKER_REGISTRATION when it does not,
   * and with the retriable EtcdUnavailableError when etcd does not answer.
   */
  async start(waitMs = this.opts.sessionTimeoutSeconds * 1000 + 2_000): Promise<number> {
    const deadline = this.clock.monotonicMs() + waitMs;
    for (;;) {
      const epoch = await this.tryRegister();
      if (epoch >= 0) return epoch;
      if (this.clock.monotonicMs() >= deadline) {
        throw new KafkaError(ErrorCode.DUPLICATE_BROKER_REGISTRATION, `node.id ${this.opts.nodeId} is registered by another live broker`);
      }
      await this.pause();
    }
  }

  /**
   * Marks the registration as in a controlled shutdown (rewrites the record under the same key and lease, so the
   * epoch stays; a later re-registration carries the mark too): the etcd revision written, or -1 when this session
   * holds no registration.
   */
  async markControlledShutdown(): Promise<number> {
    const lease = this.lease;
    const epoch = this.currentEpoch;
    if (lease === null || epoch < 0) return -1;
    const key = this.keys.broker(this.opts.nodeId);
    // kept for a re-registration after a lost lease too: a broker shutting down stays marked
    this.record = { ...this.record, inControlledShutdown: true };
    const r = await this.client.txn([{ key, target: "CREATE", result: "EQUAL", value: epoch }], [{ put: { key, value: JSON.stringify(this.record), lease: lease.id } }]);
    return r.succeeded ? r.revision : -1;
  }

  /**
   * Writes the broker's current offline-replica record (KIP-112) under the registration's lease, or deletes it when
   * none is offline any more, if the registration is still this session's: the etcd revision written, or -1 when this
   * session holds no registration (the next registration writes the record).
   */
  async writeOfflineReplicas(): Promise<number> {
    const lease = this.lease;
    const epoch = this.currentEpoch;
    const value = this.opts.offlineReplicas?.() ?? null;
    if (lease === null || epoch < 0) return -1;
    const key = this.keys.offlineReplicasOf(this.opts.nodeId);
    const r = await this.client.txn(
      [{ key: this.keys.broker(this.opts.nodeId), target: "CREATE", result: "EQUAL", value: epoch }],
      [value === null ? { delete: { key } } : { put: { key, value, lease: lease.id } }],
    );
    return r.succeeded ? r.revision : -1;
  }

  /** Deregisters (revokes the lease, deleting the key). */
  async stop(): Promise<void> {
    this.stopped = true;
    const lease = this.lease;
    this.lease = null;
    this.currentEpoch = -1;
    if (lease) await lease.revoke();
  }

  /** One attempt: the new epoch, or -1 when the key is held by another registration. */
  private async tryRegister(): Promise<number> {
    if (!this.lease || !this.lease.active) {
      this.lease = await LeaseKeeper.grant(this.client, {
        ttlSeconds: this.opts.sessionTimeoutSeconds,
        clock: this.clock,
        onLost: (id) => this.leaseLost(id),
      });
    }
    const key = this.keys.broker(this.opts.nodeId);
    const offline = this.opts.offlineReplicas?.() ?? null;
    const puts = [{ put: { key, value: JSON.stringify(this.record), lease: this.lease.id } }];
    if (offline !== null) puts.push({ put: { key: this.keys.offlineReplicasOf(this.opts.nodeId), value: offline, lease: this.lease.id } });
    const r = await this.client.txn([{ key, target: "CREATE", result: "EQUAL", value: 0 }], puts, [{ range: { key } }]);
    // A held key is ours when an earlier attempt was applied but its answer was lost (same lease).
    const held = r.succeeded ? null : r.results[0]?.kvs[0];
    if (!r.succeeded && held?.lease !== this.lease.id) return -1;
    const epoch = held ? held.createRevision : r.revision;
    if (this.stopped) {
      await this.lease.revoke();
      return -1;
    }
    this.currentEpoch = epoch;
    this.opts.onRegistered?.(epoch, this.lease.id);
    return epoch;
  }

  private leaseLost(id: string): void {
    if (this.stopped || this.lease?.id !== id) return;
    const old = this.currentEpoch;
    this.currentEpoch = -1;
    this.lease = null;
    if (old >= 0) this.opts.onFenced?.(old);
    void this.reregister();
  }

  /** Registers again until it succeeds or the registration is stopped. */
  private async reregister(): Promise<void> {
    while (!this.stopped && this.currentEpoch < 0) {
      try {
        if ((await this.tryRegister()) >= 0) return;
      } catch {
        // etcd unreachable (or refusing for now): keep trying; the broker stays fenced meanwhile
      }
      await this.pause();
    }
  }

  private pause(): Promise<void> {
    return new Promise((r) => this.clock.setTimer(() => r(), BROKER_REGISTRATION_RETRY_BACKOFF_MS));
  }
}
