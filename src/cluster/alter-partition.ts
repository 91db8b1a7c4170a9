/**
 * A partition leader's ISR change (shrink when a follower lags past `replica.lag.time.max.ms`, expand when it has
 * caught up), applied straight to etcd by compare-and-set, in the role of Kafka's AlterPartition. The txn holds only
 * if the partition state is still the one the leader saw (partition epoch, via the key's mod revision), the leader
 * still holds the broker epoch it leads with (a fenced leader cannot change the ISR), and every joining replica is
 * registered, not in a controlled shutdown, and with the broker epoch its fetches carried when the leader knows it
 * (KIP-903: a replica that restarted since cannot join on its old incarnation's progress), and not reporting its
 * replica in a failed log dir (KIP-112). A loser learns why with
 * Kafka's AlterPartition error code.
 */
import { ErrorCode } from "../protocol/errors.ts";
import type { Compare } from "./etcd-client.ts";
import { decodePartitionState } from "./cluster-keys.ts";
import type { EtcdMetadataStore } from "./etcd-metadata-store.ts";
import type { PartitionStateRecord } from "./metadata-store.ts";
import { applyIsrChange, type IsrChangeRequest } from "./partition-state.ts";

/** The outcome of an ISR change: NONE and the state written, or the error code. */
export interface AlterPartitionResult {
  /** Kafka error code. */
  error: number;
  /** The partition state after the change (NONE), or as found (when known). */
  state?: PartitionStateRecord;
}

/**
 * Applies a leader's ISR change through its store by CAS; `brokerEpoch` is the leader's registration epoch,
 * `joiningEpochs` the broker epochs the joining replicas fetched with (where known).
 */
export async function alterPartitionIsr(store: EtcdMetadataStore, topic: string, partition: number, brokerEpoch: number, req: IsrChangeRequest, joiningEpochs: ReadonlyMap<number, number> = new Map()): Promise<AlterPartitionResult> {
  const { client, keys } = store;
  const current = store.partitionState(topic, partition);
  if (!current) return { error: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  // Liveness of joining replicas is checked in the txn (their registration keys must exist), so allow all here.
  const checked = applyIsrChange(current, req, new Set(current.replicas));
  if (checked.error !== ErrorCode.NONE) return { error: checked.error, state: current };
  // A joining replica must be registered and not in a controlled shutdown: its registration key is unmodified
  // since created (the shutdown mark is the only rewrite), i.e. its mod revision is still its epoch, which is the
  // epoch its fetches carried when the leader knows it (KIP-903).
  // Nor may a replica its broker reports in a failed log dir (KIP-112) join.
  const idHex = store.topic(topic)?.idHex;
  const offline = idHex === undefined ? [] : store.offlineReplicas(idHex, partition);
  const joining: Compare[] = [];
  for (const r of req.isr) {
    if (current.isr.includes(r)) continue;
    const reg = store.brokers().find((b) => b.nodeId === r);
    const fetched = joiningEpochs.get(r);
    const epoch = fetched !== undefined && fetched >= 0 ? fetched : reg?.brokerEpoch;
    if (epoch === undefined || reg?.inControlledShutdown || offline.includes(r)) return { error: ErrorCode.INELIGIBLE_REPLICA, state: current };
    joining.push({ key: keys.broker(r), target: "MOD", result: "EQUAL", value: epoch });
  }
  const guard: Compare[] = [{ key: keys.broker(req.leaderId), target: "CREATE", result: "EQUAL", value: brokerEpoch }, ...joining];
  if (await store.compareAndSetPartitionGuarded(guard, checked.state!, req.partitionEpoch)) return { error: ErrorCode.NONE, state: checked.state };
  // Lost: say why, from etcd's current copy.
  const [stateKv, leaderKv] = await Promise.all([client.get(keys.partition(topic, partition)), client.get(keys.broker(req.leaderId))]);
  if (!stateKv) return { error: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  const now = decodePartitionState(stateKv, topic, partition);
  if (now.partitionEpoch !== req.partitionEpoch) {
    const again = applyIsrChange(now, req, new Set(now.replicas));
    return { error: again.error === ErrorCode.NONE ? ErrorCode.INVALID_UPDATE_VERSION : again.error, state: now };
  }
  if (!leaderKv || leaderKv.createRevision !== brokerEpoch) return { error: ErrorCode.STALE_BROKER_EPOCH, state: now };
  return { error: ErrorCode.INELIGIBLE_REPLICA, state: now };
}
