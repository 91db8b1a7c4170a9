/**
 * A stand-in for the controller and its etcd for one partition, with etcd's guarantees as far as the simulation
 * needs them: one linearizable state (every change is a compare-and-set on the partition epoch), and leases (a
 * broker whose heartbeats stop for `leaseMs` is fenced). Fencing removes the broker from the ISR unless it is the
 * last member (as KRaft does); a leader fenced hands leadership to a live ISR member with the next leader epoch
 * (no unclean election); a broker that registers again after a restart leaves the ISR the same way (KIP-841), so a
 * replica that lost unsynced records never counts as in sync until it has caught up again.
 */

/** The partition's state as the controller stores it. */
export interface PartitionState {
  /** Leader node id, or -1. */
  leader: number;
  /** Leader epoch. */
  leaderEpoch: number;
  /** Bumped on every change (the compare-and-set version). */
  partitionEpoch: number;
  /** Replicas. */
  replicas: readonly number[];
  /** In-sync replicas. */
  isr: readonly number[];
}

interface BrokerLease {
  incarnation: number;
  lastHeartbeatMs: number;
  fenced: boolean;
}

/** The controller of one partition. */
export class SimController {
  private st: PartitionState;
  private readonly leases = new Map<number, BrokerLease>();
  /** Changes made, for the trace. */
  readonly log: string[] = [];

  constructor(
    replicas: readonly number[],
    private readonly leaseMs: number,
  ) {
    this.st = { leader: -1, leaderEpoch: 0, partitionEpoch: 0, replicas: [...replicas], isr: [...replicas] };
  }

  /** The current state (a copy). */
  get state(): PartitionState {
    return { ...this.st, replicas: [...this.st.replicas], isr: [...this.st.isr] };
  }

  /** Whether `id` holds an unexpired lease under its latest registration. */
  isLive(id: number): boolean {
    const l = this.leases.get(id);
    return l !== undefined && !l.fenced;
  }

  /** A broker's heartbeat (a newer `incarnation` is a new registration after a restart); answers the state. */
  heartbeat(id: number, incarnation: number, nowMs: number): PartitionState {
    const l = this.leases.get(id);
    if (l === undefined || incarnation > l.incarnation) {
      if (l !== undefined) this.fence(id, `broker ${id} registered again (incarnation ${incarnation})`);
      this.leases.set(id, { incarnation, lastHeartbeatMs: nowMs, fenced: false });
    } else if (incarnation === l.incarnation) {
      l.lastHeartbeatMs = nowMs;
      l.fenced = false;
    }
    this.electIfLeaderless();
    return this.state;
  }

  /** Fences brokers whose lease ran out; moves leadership off a fenced leader. */
  expireLeases(nowMs: number): void {
    for (const [id, l] of this.leases) {
      if (l.fenced || nowMs - l.lastHeartbeatMs <= this.leaseMs) continue;
      l.fenced = true;
      this.fence(id, `broker ${id} lease expired`);
    }
    this.electIfLeaderless();
  }

  /**
   * AlterPartition from a leader: a compare-and-set on the partition epoch; refused unless `from` leads in
   * `leaderEpoch`, `partitionEpoch` is current, and every new member is live and was last heard by the leader in
   * its current registration (`incarnations`, KIP-903's broker epochs). True when applied.
   */
  alterIsr(from: number, leaderEpoch: number, partitionEpoch: number, isr: readonly number[], incarnations: ReadonlyMap<number, number>): boolean {
    const s = this.st;
    if (from !== s.leader || leaderEpoch !== s.leaderEpoch || partitionEpoch !== s.partitionEpoch) return false;
    if (!isr.includes(from) || isr.some((id) => !s.isr.includes(id) && !this.isLive(id))) return false;
    // KIP-903: a member added must be known by the fetches of its current registration, not a previous one.
    if (isr.some((id) => !s.isr.includes(id) && incarnations.get(id) !== this.leases.get(id)?.incarnation)) return false;
    this.change({ isr: [...isr].sort() }, `ISR ${s.isr} -> ${isr} by leader ${from}`);
    return true;
  }

  /** A broker that lost its lease or restarted leaves the ISR (unless last) and gives up leadership. */
  private fence(id: number, why: string): void {
    this.removeFromIsr(id, why);
    if (this.st.leader === id) this.change({ leader: -1, leaderEpoch: this.st.leaderEpoch + 1 }, `leader ${id} fenced`);
  }

  private removeFromIsr(id: number, why: string): void {
    if (!this.st.isr.includes(id) || this.st.isr.length === 1) return;
    this.change({ isr: this.st.isr.filter((x) => x !== id) }, why);
  }

  private electIfLeaderless(): void {
    if (this.st.leader >= 0 && this.isLive(this.st.leader)) return;
    const next = this.st.isr.find((id) => this.isLive(id));
    if (next === undefined) {
      if (this.st.leader >= 0) this.change({ leader: -1, leaderEpoch: this.st.leaderEpoch + 1 }, "no live ISR member");
      return;
    }
    this.change({ leader: next, leaderEpoch: this.st.leaderEpoch + 1 }, `leader ${next} elected`);
  }

  private change(fields: Partial<PartitionState>, why: string): void {
    this.st = { ...this.st, ...fields, partitionEpoch: this.st.partitionEpoch + 1 };
    this.log.push(`${why}: leader ${this.st.leader} epoch ${this.st.leaderEpoch} isr [${this.st.isr}] v${this.st.partitionEpoch}`);
  }
}
