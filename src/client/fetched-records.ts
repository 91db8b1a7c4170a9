/**
 * The records one Fetch returned for one partition, handed out in pieces across polls: batch by batch (CRC
 * checked, decompressed when needed), skipping records before the consumer's position, control batches, and
 * under read_committed the batches of aborted transactions. A partial batch at the end (the broker cut the
 * response at max.partition.fetch.bytes) is dropped; the next fetch starts at the position reached.
 */
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_TIMESTAMP_TYPE,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_SIZE,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  CURRENT_MAGIC,
  dataViewOf,
  batchCrcValid,
} from "../protocol/batch-layout.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { RecordCursor, type RecordHeader, readBatchHeader } from "../protocol/record-batch.ts";
import { ControlRecordType, controlRecordType } from "../protocol/control-record.ts";
import { codecById } from "../compression/index.ts";

/** Largest decompressed records section accepted from one batch. */
export const MAX_DECOMPRESSED_BATCH_BYTES = 256 * 1024 * 1024;

/** A record returned by the consumer. `key`, `value` and header values are views into the fetched bytes. */
export interface ConsumerRecord {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Offset. */
  offset: bigint;
  /** Timestamp in ms. */
  timestamp: number;
  /** "CreateTime" or "LogAppendTime". */
  timestampType: "CreateTime" | "LogAppendTime";
  /** Key, or null. */
  key: Uint8Array | null;
  /** Value, or null. */
  value: Uint8Array | null;
  /** Headers in order (keys may repeat). */
  headers: RecordHeader[];
  /** Leader epoch of the batch, or -1. */
  leaderEpoch: number;
}

/** An aborted transaction from a Fetch response. */
export interface AbortedTransaction {
  /** Producer id. */
  producerId: bigint;
  /** First offset of the transaction. */
  firstOffset: bigint;
}

const NO_HEADERS: RecordHeader[] = [];

/** One partition's fetched data being consumed. */
export class FetchedPartition {
  /** Topic. */
  readonly topic: string;
  /** Partition. */
  readonly partition: number;
  /** The position after the last record handed out (or skipped). */
  position: bigint;
  /** High watermark the response reported. */
  readonly highWatermark: bigint;
  /** Monotonic ms when the Fetch response carrying these records was decoded (set by the consumer). */
  receivedAtMs = 0;
  private readonly bytes: Uint8Array;
  private readonly dv: DataView;
  private pos = 0;
  private readonly cursor = new RecordCursor();
  private inBatch = false;
  private batchEnd = 0;
  private batchLastOffset = 0n;
  private batchBaseOffset = 0n;
  private batchLeaderEpoch = -1;
  private logAppendTime = -1;
  private readonly readCommitted: boolean;
  private readonly aborted: AbortedTransaction[];
  private readonly abortedProducers = new Set<bigint>();

  constructor(
    topic: string,
    partition: number,
    fetchOffset: bigint,
    bytes: Uint8Array,
    highWatermark: bigint,
    readCommitted: boolean,
    aborted: readonly AbortedTransaction[] | null,
  ) {
    this.topic = topic;
    this.partition = partition;
    this.position = fetchOffset;
    this.bytes = bytes;
    this.dv = dataViewOf(bytes);
    this.highWatermark = highWatermark;
    this.readCommitted = readCommitted;
    this.aborted = aborted === null ? [] : [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  }

  /** Whether every complete batch has been consumed. */
  get exhausted(): boolean {
    return !this.inBatch && !this.hasNextBatch();
  }

  private hasNextBatch(): boolean {
    if (this.pos + BATCH_HEADER_SIZE > this.bytes.length) return false;
    const size = this.dv.getInt32(this.pos + 8) + LOG_OVERHEAD;
    return size >= BATCH_HEADER_SIZE && this.pos + size <= this.bytes.length;
  }

  /** Appends up to `max` records to `out`; returns how many were added. Throws KafkaError(CORRUPT_MESSAGE). */
  drain(max: number, out: ConsumerRecord[]): number {
    let added = 0;
    // Each iteration consumes a record or a batch, so the loop ends within records + batches steps.
    while (added < max) {
      if (!this.inBatch) {
        if (!this.hasNextBatch()) break;
        this.openBatch();
        continue;
      }
      const c = this.cursor;
      if (!c.next()) {
        this.closeBatch();
        continue;
      }
      const offset = this.batchBaseOffset + BigInt(c.offsetDelta);
      if (offset < this.position) continue;
      const hc = c.headerCount;
      let headers = NO_HEADERS;
      if (hc > 0) {
        headers = [];
        const h = c.headers();
        while (h.next()) headers.push({ key: h.keyString(), value: h.value() });
      }
      out.push({
        topic: this.topic,
        partition: this.partition,
        offset,
        timestamp: this.logAppendTime >= 0 ? this.logAppendTime : c.timestamp,
        timestampType: this.logAppendTime >= 0 ? "LogAppendTime" : "CreateTime",
        key: c.key(),
        value: c.value(),
        headers,
        leaderEpoch: this.batchLeaderEpoch,
      });
      this.position = offset + 1n;
      added++;
    }
    return added;
  }

  private openBatch(): void {
    const at = this.pos;
    const size = this.dv.getInt32(at + 8) + LOG_OVERHEAD;
    const buf = this.bytes;
    if (buf[at + MAGIC_OFFSET] !== CURRENT_MAGIC) {
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `${this.topic}-${this.partition}: batch at byte ${at} has magic ${buf[at + MAGIC_OFFSET]}, only 2 is supported`);
    }
    if (!batchCrcValid(buf, this.dv, at, size)) {
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `${this.topic}-${this.partition}: CRC mismatch in the batch at offset ${this.dv.getBigInt64(at)}`);
    }
    const h = readBatchHeader(buf, at);
    const lastOffset = h.baseOffset + BigInt(h.lastOffsetDelta);
    this.pos = at + size;
    if (lastOffset < this.position) return;
    const control = (h.attributes & ATTR_CONTROL) !== 0;
    if (this.readCommitted) {
      while (this.aborted.length > 0 && this.aborted[0].firstOffset <= lastOffset) this.abortedProducers.add(this.aborted.shift()!.producerId);
      if (control) {
        // An ABORT marker ends that producer's aborted transaction.
        if (this.abortedProducers.has(h.producerId) && h.recordsCount >= 1 && (h.attributes & ATTR_COMPRESSION_MASK) === 0) {
          const c = this.cursor.resetBatch(buf, at, size);
          if (c.next() && controlRecordType(c.key()) === ControlRecordType.ABORT) this.abortedProducers.delete(h.producerId);
          c.release();
        }
      } else if ((h.attributes & ATTR_TRANSACTIONAL) !== 0 && this.abortedProducers.has(h.producerId)) {
        this.position = lastOffset + 1n;
        return;
      }
    }
    if (control) {
      this.position = lastOffset + 1n;
      return;
    }
    this.batchBaseOffset = h.baseOffset;
    this.batchLastOffset = lastOffset;
    this.batchLeaderEpoch = h.partitionLeaderEpoch;
    this.logAppendTime = (h.attributes & ATTR_TIMESTAMP_TYPE) !== 0 ? Number(h.maxTimestamp) : -1;
    const codecId = h.attributes & ATTR_COMPRESSION_MASK;
    if (codecId === 0) {
      this.cursor.resetRange(buf, at + BATCH_HEADER_SIZE, at + size, h.recordsCount, Number(h.baseTimestamp), h.baseOffset);
    } else {
      const codec = codecById(codecId)!;
      const section = codec.decompress(buf.subarray(at + BATCH_HEADER_SIZE, at + size), MAX_DECOMPRESSED_BATCH_BYTES);
      this.cursor.reset(section, h.recordsCount, Number(h.baseTimestamp), h.baseOffset);
    }
    this.batchEnd = at + size;
    this.inBatch = true;
  }

  private closeBatch(): void {
    this.inBatch = false;
    this.cursor.release();
    // Compaction may have removed the batch's last records: the next offset is after the batch regardless.
    if (this.position <= this.batchLastOffset) this.position = this.batchLastOffset + 1n;
    this.pos = this.batchEnd;
  }
}
