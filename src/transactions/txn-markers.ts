/**
 * Writing COMMIT/ABORT markers. A partition this broker leads gets its control batch from the coordinator itself
 * through {@link PartitionMarkerWriter}, on the partition's leader write path: there each marker ends the
 * producer's transaction in that partition's producer state (moving the last stable offset), an ABORT adds the
 * transaction to the partition's aborted-transaction index, and waiting fetches are woken. In a cluster, a partition
 * led by another broker gets its marker through a {@link RemoteMarkerSender} (WriteTxnMarkers to that leader, which
 * appends it the same way with {@link writeLocalMarker}). The broker is reached through {@link MarkerHost}, which
 * `Broker` satisfies structurally.
 */
import type { Clock } from "../platform/clock.ts";
import { ControlRecordType, buildControlBatch } from "../protocol/control-record.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
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
  /** Whether this broker leads the partition. */
  readonly isLeader: boolean;
  /** The partition's producer state (a stale coordinator's markers are refused by epoch). */
  readonly producers: { markerProblem(producerId: bigint, coordinatorEpoch: number): number };
  /** The leader's node id (-1 when none). */
  readonly leader: number;
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

/** Sends markers to partitions another broker leads (WriteTxnMarkers); resolves to the partitions that failed. */
export type RemoteMarkerSender = (leader: number, req: TxnMarkerRequest) => Promise<TopicPartition[]>;

/**
 * Appends one marker to a partition this broker leads and waits until it is replicated and durable; resolves to
 * NONE (0) or the Kafka error code (NOT_LEADER_OR_FOLLOWER when another broker leads it; TRANSACTION_COORDINATOR_FENCED
 * when a coordinator with a newer epoch already wrote a marker for the producer here). Used for the coordinator's own
 * partitions and for WriteTxnMarkers.
 */
export async function writeLocalMarker<P extends MarkerPartition>(p: P, tp: TopicPartition, req: Omit<TxnMarkerRequest, "partitions">, nowMs: number, onWritten: MarkerListener): Promise<number> {
  const type = req.commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT;
  const fenced = p.producers.markerProblem(req.producerId, req.coordinatorEpoch);
  if (fenced !== ErrorCode.NONE) return fenced;
  let lastOffset: bigint;
  try {
    const batch = buildControlBatch({ producerId: req.producerId, producerEpoch: req.producerEpoch, type, coordinatorEpoch: req.coordinatorEpoch, timestampMs: nowMs });
    lastOffset = p.appendAsLeader(batch).lastOffset;
  } catch (e) {
    return e instanceof KafkaError ? e.code : ErrorCode.KAFKA_STORAGE_ERROR;
  }
  onWritten(tp, req.producerId, req.commit);
  try {
    await p.whenCommitted(lastOffset + 1n);
    return ErrorCode.NONE;
  } catch (e) {
    return e instanceof KafkaError ? e.code : ErrorCode.KAFKA_STORAGE_ERROR;
  }
}

/** Writes markers straight into the broker's partition logs. */
export class PartitionMarkerWriter<P extends MarkerPartition> implements TxnMarkerWriter {
  private readonly host: MarkerHost<P>;
  private readonly clock: Clock;
  private readonly log: TransactionLogger;
  private readonly onWritten: MarkerListener;

  private readonly remote: RemoteMarkerSender | null;

  /** `remote` (cluster mode) sends the markers of partitions other brokers lead; without it they fail (retried). */
  constructor(host: MarkerHost<P>, clock: Clock, log: TransactionLogger, onWritten: MarkerListener = () => {}, remote: RemoteMarkerSender | null = null) {
    this.host = host;
    this.clock = clock;
    this.log = log;
    this.onWritten = onWritten;
    this.remote = remote;
  }

  /** Appends one marker per partition (here or at its leader), then waits for them to be durable. */
  async writeMarkers(req: TxnMarkerRequest): Promise<TopicPartition[]> {
    const failed: TopicPartition[] = [];
    const waits: Promise<void>[] = [];
    const byLeader = new Map<number, TopicPartition[]>();
    for (const tp of req.partitions) {
      const p = this.host.topicsByName.get(tp.topic)?.partitions[tp.partition];
      if (p === undefined) {
        this.log.warn(`transaction marker for ${tp.topic}-${tp.partition} skipped: the partition no longer exists`);
        continue;
      }
      if (this.remote !== null && !p.isLeader && p.leader >= 0) {
        const list = byLeader.get(p.leader) ?? [];
        list.push(tp);
        byLeader.set(p.leader, list);
        continue;
      }
      const local = writeLocalMarker(p, tp, req, this.clock.nowMs(), this.onWritten).then((code) => {
        if (code === ErrorCode.NONE) return;
        this.log.error(`transaction marker for ${tp.topic}-${tp.partition} failed with error ${code}`);
        failed.push(tp);
      });
      waits.push(local);
    }
    for (const [leader, partitions] of byLeader) {
      const sent = this.remote!(leader, { ...req, partitions }).then(
        (f) => void failed.push(...f),
        (e) => {
          this.log.warn(`transaction markers to broker ${leader} failed: ${(e as Error).message}`);
          failed.push(...partitions);
        },
      );
      waits.push(sent);
    }
    await Promise.all(waits);
    return failed;
  }
}
