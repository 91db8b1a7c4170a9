/**
 * Writing COMMIT/ABORT markers: a single node needs no WriteTxnMarkers round trip, so the coordinator appends the
 * control batches to the partitions itself through {@link PartitionMarkerWriter}, on the partitions' leader write
 * path: there each marker ends the producer's transaction in that partition's producer state (moving the last
 * stable offset), an ABORT adds the transaction to the partition's aborted-transaction index, and waiting fetches
 * are woken. The broker is reached through {@link MarkerHost}, which `Broker` satisfies structurally.
 */
import type { Clock } from "../platform/clock.ts";
import { ControlRecordType, buildControlBatch } from "../protocol/control-record.ts";
import type { TransactionLogger } from "./transaction-config.ts";
import type { TopicPartition } from "./transaction-state.ts";

/** Markers to write for one transaction. */
export interface TxnMarkerRequest {
  /** The producer whose transaction ends. */
  producerId: bigint;
  /** Epoch written on the markers (bumped when the producer was fenced). */
  producerEpoch: number;
  /** COMMIT (true) or ABORT (false). */
  commit: boolean;
  /** Epoch of the coordinator. */
  coordinatorEpoch: number;
  /** Partitions of the transaction. */
  partitions: readonly TopicPartition[];
}

/** How the coordinator gets markers written (the broker's partitions, or a fake in unit tests). */
export interface TxnMarkerWriter {
  /**
   * Writes the markers; resolves, once the written ones are durable, to the partitions whose marker could not be
   * written (to be retried). Partitions that no longer exist are skipped, as Kafka does.
   */
  writeMarkers(req: TxnMarkerRequest): Promise<TopicPartition[]>;
}

/** A partition as the marker writer uses it (the broker's partitions satisfy it). */
export interface MarkerPartition {
  /** The leader write path: appends, updates producer state and the aborted-transaction index, wakes fetches. */
  appendAsLeader(records: Uint8Array): { baseOffset: bigint; lastOffset: bigint };
  /** Resolves once the high watermark passed `offset` and the data is durable. */
  whenCommitted(offset: bigint): Promise<void>;
}

/** What the broker offers the marker writer. */
export interface MarkerHost<P extends MarkerPartition> {
  /** Topics by name. */
  readonly topicsByName: ReadonlyMap<string, { readonly partitions: readonly P[] }>;
}

/** Called after a marker is appended to a partition (the group coordinator completes transactional offsets). */
export type MarkerListener = (tp: TopicPartition, producerId: bigint, commit: boolean) => void;

/** Writes markers straight into the broker's partition logs. */
export class PartitionMarkerWriter<P extends MarkerPartition> implements TxnMarkerWriter {
  private readonly host: MarkerHost<P>;
  private readonly clock: Clock;
  private readonly log: TransactionLogger;
  private readonly onWritten: MarkerListener;

  constructor(host: MarkerHost<P>, clock: Clock, log: TransactionLogger, onWritten: MarkerListener = () => {}) {
    this.host = host;
    this.clock = clock;
    this.log = log;
    this.onWritten = onWritten;
  }

  /** Appends one marker per partition, then waits for them to be durable. */
  async writeMarkers(req: TxnMarkerRequest): Promise<TopicPartition[]> {
    const failed: TopicPartition[] = [];
    const syncs: { tp: TopicPartition; done: Promise<void> }[] = [];
    const type = req.commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT;
    for (const tp of req.partitions) {
      const p = this.host.topicsByName.get(tp.topic)?.partitions[tp.partition];
      if (p === undefined) {
        this.log.warn(`transaction marker for ${tp.topic}-${tp.partition} skipped: the partition no longer exists`);
        continue;
      }
      try {
        const batch = buildControlBatch({ producerId: req.producerId, producerEpoch: req.producerEpoch, type, coordinatorEpoch: req.coordinatorEpoch, timestampMs: this.clock.nowMs() });
        const r = p.appendAsLeader(batch);
        this.onWritten(tp, req.producerId, req.commit);
        syncs.push({ tp, done: p.whenCommitted(r.lastOffset + 1n) });
      } catch (e) {
        this.log.error(`transaction marker for ${tp.topic}-${tp.partition} failed: ${(e as Error).message}`);
        failed.push(tp);
      }
    }
    for (const s of syncs) {
      try {
        await s.done;
      } catch (e) {
        this.log.error(`transaction marker for ${s.tp.topic}-${s.tp.partition} did not become durable: ${(e as Error).message}`);
        failed.push(s.tp);
      }
    }
    return failed;
  }
}
