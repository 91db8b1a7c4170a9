/**
 * A partition leader's ISR change (shrink when a follower lags past `replica.lag.time.max.ms`, expand when it has
 * caught up), applied straight to etcd by compare-and-set, in the role of Kafka's AlterPartition. The txn holds only
 * if the partition state is still the one the leader saw (partition epoch, via the key's mod revision), the leader
 * still holds the broker epoch it leads with (a fenced leader cannot change the ISR), and every joining replica is
 * registered. A loser learns why with Kafka's AlterPartition error code.
 */
import { ErrorCode } from "../protocol/errors.ts";
import type { Compare, EtcdClient } from "./etcd-client.ts";
import { decodePartitionState, encodePartitionState, type ClusterKeys } from "./cluster-keys.ts";
import { applyIsrChange, type IsrChangeRequest, type PartitionState } from "./partition-state.ts";

/** The outcome of an ISR change: NONE and the state written, or the error code. */
export interface AlterPartitionResult {
  /** Kafka error code. */
  error: number;
  /** The partition state after the change (NONE), or as found (when known). */
  state?: PartitionState;
}

/** Applies a leader's ISR change by CAS; `brokerEpoch` is the leader's registration epoch. */
export async function alterPartitionIsr(client: EtcdClient, keys: ClusterKeys, topic: string, partition: number, brokerEpoch: number, req: IsrChangeRequest): Promise<AlterPartitionResult> {
  const key = keys.partition(topic, partition);
  const kv = await client.get(key);
  if (!kv) return { error: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  const current = decodePartitionState(kv);
  // Liveness of joining replicas is checked in the txn (their registration keys must exist), so allow all here.
  const checked = applyIsrChange(current, req, new Set(current.replicas));
  if (checked.error !== ErrorCode.NONE) return { error: checked.error, state: current };
  const joining = req.isr.filter((r) => !current.isr.includes(r));
  const compares: Compare[] = [
    { key, target: "MOD", result: "EQUAL", value: kv.modRevision },
    { key: keys.broker(req.leaderId), target: "CREATE", result: "EQUAL", value: brokerEpoch },
    ...joining.map((r): Compare => ({ key: keys.broker(r), target: "CREATE", result: "GREATER", value: 0 })),
  ];
  const r = await client.txn(compares, [{ put: { key, value: encodePartitionState(checked.state!) } }], [
    { range: { key } },
    { range: { key: keys.broker(req.leaderId) } },
  ]);
  if (r.succeeded) return { error: ErrorCode.NONE, state: checked.state };
  const [stateNow, leaderReg] = r.results.map((x) => x.kvs[0]);
  if (!stateNow) return { error: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
  const now = decodePartitionState(stateNow);
  if (stateNow.modRevision !== kv.modRevision) {
    const again = applyIsrChange(now, req, new Set(now.replicas));
    return { error: again.error === ErrorCode.NONE ? ErrorCode.INVALID_UPDATE_VERSION : again.error, state: now };
  }
  if (!leaderReg || leaderReg.createRevision !== brokerEpoch) return { error: ErrorCode.STALE_BROKER_EPOCH, state: now };
  return { error: ErrorCode.INELIGIBLE_REPLICA, state: now };
}
