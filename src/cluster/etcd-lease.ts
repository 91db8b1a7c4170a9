/**
 * Keeps one etcd lease alive: a keep-alive every third of the TTL, on the injected clock. The lease is declared lost
 * only on etcd's word (a keep-alive answering TTL 0: the lease expired or was revoked). While etcd cannot be reached
 * the keeper keeps trying and says nothing: nobody else can change metadata then either, and a broker cut off from
 * etcd is fenced by the others (they stop replicating from it), not by its own guess.
 */
import type { Clock } from "../platform/clock.ts";
import { systemClock } from "../platform/clock.ts";
import type { EtcdClient } from "./etcd-client.ts";

/** Keep-alives per TTL period (a keep-alive may be lost twice before the lease is at risk). */
export const LEASE_KEEPALIVES_PER_TTL = 3;

/** Lease settings. */
export interface LeaseOptions {
  /** Lease TTL in seconds (Kafka's `broker.session.timeout.ms` rounded up to seconds). */
  ttlSeconds: number;
  /** Clock for the keep-alive timer. */
  clock?: Clock;
  /** Called once when etcd says the lease is gone. */
  onLost(leaseId: string): void;
}

/** One granted lease and its keep-alive loop. */
export class LeaseKeeper {
  /** The lease id (decimal). */
  readonly id: string;
  private readonly client: EtcdClient;
  private readonly opts: LeaseOptions;
  private readonly clock: Clock;
  private timer: unknown = null;
  private stopped = false;
  private inFlight = false;

  private constructor(client: EtcdClient, id: string, opts: LeaseOptions) {
    this.client = client;
    this.id = id;
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.schedule();
  }

  /** Grants a lease and starts keeping it alive. */
  static async grant(client: EtcdClient, opts: LeaseOptions): Promise<LeaseKeeper> {
    if (!(opts.ttlSeconds >= 1)) throw new Error(`lease TTL must be at least 1 s, got ${opts.ttlSeconds}`);
    const { id } = await client.leaseGrant(opts.ttlSeconds);
    return new LeaseKeeper(client, id, opts);
  }

  /** Whether the keeper still runs (not stopped, not lost). */
  get active(): boolean {
    return !this.stopped;
  }

  /** Stops the keep-alives and revokes the lease (deleting every key bound to it). */
  async revoke(): Promise<void> {
    this.halt();
    await this.client.leaseRevoke(this.id);
  }

  /** Stops the keep-alives without revoking (the lease then expires after its TTL). */
  halt(): void {
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimer(() => void this.beat(), (this.opts.ttlSeconds * 1000) / LEASE_KEEPALIVES_PER_TTL);
  }

  private async beat(): Promise<void> {
    this.timer = null;
    if (this.stopped || this.inFlight) return;
    this.inFlight = true;
    let ttl = -1;
    try {
      ttl = await this.client.leaseKeepAlive(this.id);
    } catch {
      // etcd unreachable: try again at the next beat
    } finally {
      this.inFlight = false;
    }
    if (this.stopped) return;
    if (ttl === 0) {
      this.halt();
      this.opts.onLost(this.id);
      return;
    }
    this.schedule();
  }
}
