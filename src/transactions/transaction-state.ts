/**
 * What the transaction coordinator knows about one transactional id: its producer id and epoch, its timeout,
 * the state of its current transaction and the partitions in it. Kafka's state names and their ids in the
 * `TransactionStatus` field of `__transaction_state` records:
 *
 *   Empty(0) -> Ongoing(1) -> PrepareCommit(2) | PrepareAbort(3) -> CompleteCommit(4) | CompleteAbort(5) -> Ongoing ...
 *   Dead(6) = the id expired; PrepareEpochFence(7) = Kafka's in-memory step while fencing (never written).
 */

/** A transaction state. */
export type TxnState = "Empty" | "Ongoing" | "PrepareCommit" | "PrepareAbort" | "CompleteCommit" | "CompleteAbort" | "Dead" | "PrepareEpochFence";

/** State names in id order (index = `TransactionStatus` byte). */
export const TXN_STATES: readonly TxnState[] = ["Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence"];

/** The `TransactionStatus` byte of a state. */
export function txnStateId(s: TxnState): number {
  return TXN_STATES.indexOf(s);
}

/** The state of a `TransactionStatus` byte; throws on an unknown one. */
export function txnStateOf(id: number): TxnState {
  const s = TXN_STATES[id];
  if (s === undefined) throw new RangeError(`unknown transaction state id ${id}`);
  return s;
}

/** No producer id. */
export const NO_PRODUCER_ID = -1n;
/** No producer epoch. */
export const NO_PRODUCER_EPOCH = -1;
/** Largest producer epoch (int16). */
export const MAX_PRODUCER_EPOCH = 32767;

/** Kafka's rule: an epoch this high cannot be bumped again, so the producer gets a new producer id instead. */
export function isEpochExhausted(epoch: number): boolean {
  return epoch >= MAX_PRODUCER_EPOCH - 1;
}

/** A topic-partition. */
export interface TopicPartition {
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
}

/** Most partitions one transaction may hold (a bound on memory and on the size of a state record). */
export const MAX_PARTITIONS_PER_TRANSACTION = 100_000;

/** The stored fields of a transactional id (the value of its `__transaction_state` record). */
export interface TxnRecord {
  /** Producer id in use. */
  producerId: bigint;
  /** Producer id used before the last rotation (epoch exhaustion), or -1. */
  previousProducerId: bigint;
  /** Producer id the next rotation hands out (transaction version 2), or -1. */
  nextProducerId: bigint;
  /** Current producer epoch. */
  producerEpoch: number;
  /** Transaction timeout (ms). */
  timeoutMs: number;
  /** Transaction state. */
  state: TxnState;
  /** Partitions in the transaction, by topic (sorted when encoded). */
  partitions: Map<string, Set<number>>;
  /** Last update (ms since epoch). */
  lastUpdateTimestamp: number;
  /** When the current transaction started (ms since epoch), or -1. */
  startTimestamp: number;
  /** Transaction version the client uses: 0/1 = classic, 2 = epoch bump per transaction (KIP-890). */
  clientTransactionVersion: number;
}

/** In-memory metadata of one transactional id. */
export class TxnMetadata implements TxnRecord {
  /** The transactional id. */
  readonly transactionalId: string;
  /** Producer id in use. */
  producerId: bigint;
  /** Producer id before the last rotation, or -1. */
  previousProducerId: bigint;
  /** Producer id of the next rotation (transaction version 2), or -1. */
  nextProducerId: bigint;
  /** Current producer epoch (-1 until the first InitProducerId is written). */
  producerEpoch: number;
  /** The epoch before the last bump, so a retried InitProducerId/EndTxn is recognised (not stored). */
  lastProducerEpoch = NO_PRODUCER_EPOCH;
  /** Transaction timeout (ms). */
  timeoutMs: number;
  /** Current state. */
  state: TxnState;
  /** Partitions of the current transaction, by topic. */
  partitions: Map<string, Set<number>>;
  /** Last update (ms since epoch). */
  lastUpdateTimestamp: number;
  /** Start of the current transaction (ms since epoch), or -1. */
  startTimestamp: number;
  /** Transaction version the client uses (2 = epoch bump per transaction). */
  clientTransactionVersion: number;
  /** A transition is being written to `__transaction_state`: other requests get CONCURRENT_TRANSACTIONS. */
  pending: TxnState | null = null;
  /** Partitions whose markers are still to be written (a completing transaction). */
  pendingMarkers: TopicPartition[] = [];
  /** Markers or the Complete record are being written. */
  completing = false;
  /** Timer of the next attempt to complete a transaction whose markers or record failed, or null. */
  retryTimer: unknown = null;

  constructor(transactionalId: string, r: TxnRecord) {
    this.transactionalId = transactionalId;
    this.producerId = r.producerId;
    this.previousProducerId = r.previousProducerId;
    this.nextProducerId = r.nextProducerId;
    this.producerEpoch = r.producerEpoch;
    this.timeoutMs = r.timeoutMs;
    this.state = r.state;
    this.partitions = r.partitions;
    this.lastUpdateTimestamp = r.lastUpdateTimestamp;
    this.startTimestamp = r.startTimestamp;
    this.clientTransactionVersion = r.clientTransactionVersion;
  }

  /** Number of partitions in the transaction. */
  partitionCount(): number {
    let n = 0;
    for (const s of this.partitions.values()) n += s.size;
    return n;
  }

  /** Whether the partition is in the transaction. */
  hasPartition(topic: string, partition: number): boolean {
    return this.partitions.get(topic)?.has(partition) ?? false;
  }

  /** The partitions as a list, sorted by topic then partition. */
  partitionList(): TopicPartition[] {
    const out: TopicPartition[] = [];
    for (const topic of [...this.partitions.keys()].sort()) {
      for (const partition of [...this.partitions.get(topic)!].sort((a, b) => a - b)) out.push({ topic, partition });
    }
    return out;
  }

  /** A copy of the stored fields, with changes applied (the record of a transition). */
  with(changes: Partial<TxnRecord>): TxnRecord {
    return {
      producerId: this.producerId,
      previousProducerId: this.previousProducerId,
      nextProducerId: this.nextProducerId,
      producerEpoch: this.producerEpoch,
      timeoutMs: this.timeoutMs,
      state: this.state,
      partitions: this.partitions,
      lastUpdateTimestamp: this.lastUpdateTimestamp,
      startTimestamp: this.startTimestamp,
      clientTransactionVersion: this.clientTransactionVersion,
      ...changes,
    };
  }

  /** Makes a written transition current. */
  apply(r: TxnRecord): void {
    this.producerId = r.producerId;
    this.previousProducerId = r.previousProducerId;
    this.nextProducerId = r.nextProducerId;
    this.producerEpoch = r.producerEpoch;
    this.timeoutMs = r.timeoutMs;
    this.state = r.state;
    this.partitions = r.partitions;
    this.lastUpdateTimestamp = r.lastUpdateTimestamp;
    this.startTimestamp = r.startTimestamp;
    this.clientTransactionVersion = r.clientTransactionVersion;
  }
}

/** A copy of `partitions` with `added` in it. */
export function withPartitions(partitions: ReadonlyMap<string, ReadonlySet<number>>, added: readonly TopicPartition[]): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const [t, s] of partitions) out.set(t, new Set(s));
  for (const tp of added) {
    let s = out.get(tp.topic);
    if (s === undefined) {
      s = new Set();
      out.set(tp.topic, s);
    }
    s.add(tp.partition);
  }
  return out;
}
