/**
 * The broker's side of KIP-392 (fetch from the closest replica), for the Fetch handler. With
 * `replica.selector.class` set: as leader it names a consumer's preferred read replica (Fetch v11+
 * `preferred_read_replica`) from the consumer's rack and the replicas' racks and positions; as a follower it serves
 * consumers up to its high watermark. Without it consumers are served by the leader only. The first read of a
 * partition by a consumer rack, on either side, is logged (the bytes served as a follower are counted in
 * `runnel_fetch_from_follower_bytes_total`).
 */
import type { BrokerRegistration } from "../cluster/metadata-store.ts";
import { selectReadReplica, type ReplicaSelector, type ReplicaView } from "../replication/replica-selector.ts";
import type { Partition } from "../partition/partition.ts";

/** What the closest-replica logic reads of its broker. */
export interface ClosestReplicaDeps {
  /** This broker's id. */
  nodeId: number;
  /** The selector (`replica.selector.class`), or null. */
  selector: ReplicaSelector | null;
  /** Registered brokers (racks). */
  brokers(): readonly BrokerRegistration[];
  /** Log line. */
  info(msg: string): void;
}

/** KIP-392 decisions of one broker. */
export class ClosestReplica {
  private readonly deps: ClosestReplicaDeps;
  private readonly noted = new Set<string>();

  constructor(deps: ClosestReplicaDeps) {
    this.deps = deps;
  }

  /**
   * The leader's choice of replica for a consumer in `clientRack` fetching `fetchOffset`: another broker's id, or
   * -1 when this broker (the leader) serves it.
   */
  preferredReadReplica(p: Partition, clientRack: string, fetchOffset: bigint): number {
    const selector = this.deps.selector;
    if (selector === null || clientRack === "" || !p.isLeader) return -1;
    const racks = new Map(this.deps.brokers().map((b) => [b.nodeId, b.rack]));
    const views: ReplicaView[] = [];
    for (const id of p.isr) {
      if (!racks.has(id)) continue; // not registered: not alive
      const end = id === this.deps.nodeId ? p.logEndOffset : p.follower(id)?.logEndOffset;
      if (end !== undefined) views.push({ id, rack: racks.get(id) ?? null, logEndOffset: end });
    }
    const chosen = selectReadReplica(selector, clientRack, this.deps.nodeId, views, fetchOffset);
    if (chosen === this.deps.nodeId) return -1;
    this.note(`${p.log.name}: consumers in rack ${clientRack} are sent to replica ${chosen} (preferred read replica, KIP-392)`);
    return chosen;
  }

  /** Whether this broker, a follower of `p`, serves consumers (a selector is set and it holds a replica). */
  servesAsFollower(p: Partition): boolean {
    return this.deps.selector !== null && !p.isLeader && p.replicas.includes(this.deps.nodeId);
  }

  /** Records served to a consumer in `clientRack` as a follower of `p` (logged the first time per rack). */
  servedAsFollower(p: Partition, clientRack: string): void {
    this.note(`${p.log.name}: serving a consumer in rack ${clientRack || "(none)"} from this follower (KIP-392), up to its high watermark`);
  }

  private note(line: string): void {
    if (this.noted.has(line)) return;
    this.noted.add(line);
    this.deps.info(line);
  }
}
