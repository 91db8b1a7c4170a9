/**
 * Control records: the single record of a control batch (attribute bit 5). Its key is
 * `version:int16, type:int16`; a transaction marker (ABORT/COMMIT) has the value
 * `version:int16, coordinatorEpoch:int32` (schema `EndTxnMarker`, version 0).
 */
import { ATTR_CONTROL, ATTR_TRANSACTIONAL, BATCH_HEADER_SIZE, CURRENT_MAGIC, LOG_OVERHEAD } from "./batch-layout.ts";
import {
  batchAttributes,
  NO_SEQUENCE,
  RecordCursor,
  recordSize,
  sealBatch,
  writeBatchHeader,
  writeRecordAt,
  NO_PARTITION_LEADER_EPOCH,
} from "./record-batch.ts";
import { MalformedFrameError } from "./wire.ts";

/** Control record types (the `type` field of the control key). */
export const ControlRecordType = {
  /** Transaction aborted. */
  ABORT: 0,
  /** Transaction committed. */
  COMMIT: 1,
  /** KRaft leader change. */
  LEADER_CHANGE: 2,
  /** KRaft snapshot header. */
  SNAPSHOT_HEADER: 3,
  /** KRaft snapshot footer. */
  SNAPSHOT_FOOTER: 4,
  /** KRaft version record. */
  KRAFT_VERSION: 5,
  /** KRaft voters record. */
  KRAFT_VOTERS: 6,
} as const;

/** Size of a control record key (version + type). */
export const CONTROL_KEY_SIZE = 4;
/** Size of an end-transaction marker value (version + coordinatorEpoch). */
export const END_TXN_MARKER_VALUE_SIZE = 6;
/** Control key version Runnel writes. */
export const CONTROL_KEY_VERSION = 0;
/** End-transaction marker value version Runnel writes. */
export const END_TXN_MARKER_VERSION = 0;

/** Whether the batch at `at` is a control batch. */
export function isControlBatch(buf: Uint8Array, at: number): boolean {
  return (batchAttributes(buf, at) & ATTR_CONTROL) !== 0;
}

/** A decoded control record key. */
export interface ControlKey {
  /** Key version (0; higher versions are read as version 0, as Kafka does). */
  version: number;
  /** One of {@link ControlRecordType}, or an unknown type number. */
  type: number;
}

/** Decodes a control record key. Throws {@link MalformedFrameError} if it is short or its version negative. */
export function readControlKey(key: Uint8Array | null): ControlKey {
  if (key === null || key.length < CONTROL_KEY_SIZE) {
    throw new MalformedFrameError(`control key needs ${CONTROL_KEY_SIZE} bytes`, 0);
  }
  const version = readInt16(key, 0);
  if (version < 0) throw new MalformedFrameError(`invalid control key version ${version}`, 0);
  return { version, type: readInt16(key, 2) };
}

/** The control record type in `key` without allocating (same checks as {@link readControlKey}). */
export function controlRecordType(key: Uint8Array | null): number {
  if (key === null || key.length < CONTROL_KEY_SIZE) {
    throw new MalformedFrameError(`control key needs ${CONTROL_KEY_SIZE} bytes`, 0);
  }
  if (readInt16(key, 0) < 0) throw new MalformedFrameError("invalid control key version", 0);
  return readInt16(key, 2);
}

/** A decoded end-transaction (COMMIT/ABORT) marker value. */
export interface EndTxnMarker {
  /** Value version (0; higher versions are read as version 0). */
  version: number;
  /** Epoch of the transaction coordinator that wrote the marker. */
  coordinatorEpoch: number;
}

/** Decodes a COMMIT/ABORT marker value. Throws {@link MalformedFrameError} if short or version negative. */
export function readEndTxnMarker(value: Uint8Array | null): EndTxnMarker {
  if (value === null || value.length < END_TXN_MARKER_VALUE_SIZE) {
    throw new MalformedFrameError(`end transaction marker needs ${END_TXN_MARKER_VALUE_SIZE} bytes`, 0);
  }
  const version = readInt16(value, 0);
  if (version < 0) throw new MalformedFrameError(`invalid end transaction marker version ${version}`, 0);
  const coordinatorEpoch = (value[2] << 24) | (value[3] << 16) | (value[4] << 8) | value[5];
  return { version, coordinatorEpoch };
}

/** Inputs of {@link buildControlBatch}. */
export interface ControlBatchOptions {
  /** Producer whose transaction ends. */
  producerId: bigint;
  /** That producer's epoch. */
  producerEpoch: number;
  /** ControlRecordType.ABORT or ControlRecordType.COMMIT. */
  type: number;
  /** Epoch of the transaction coordinator. */
  coordinatorEpoch: number;
  /** Marker timestamp (base and max timestamp of the batch). */
  timestampMs: number;
  /** Offset to write (default 0; the log assigns the real one). */
  baseOffset?: bigint;
  /** Leader epoch to write (default -1). */
  partitionLeaderEpoch?: number;
}

/**
 * Builds a sealed transaction-marker batch: transactional + control attributes, baseSequence -1, one record
 * (offsetDelta 0, timestampDelta 0) with the control key and the end-transaction value. Requires `initCrc32c()`.
 */
export function buildControlBatch(opts: ControlBatchOptions): Uint8Array {
  if (opts.type !== ControlRecordType.ABORT && opts.type !== ControlRecordType.COMMIT) {
    throw new RangeError(`buildControlBatch writes ABORT or COMMIT markers, not type ${opts.type}`);
  }
  if (!Number.isSafeInteger(opts.timestampMs)) throw new RangeError("marker timestamp is not a safe integer");
  const key = new Uint8Array(CONTROL_KEY_SIZE);
  writeInt16(key, 0, CONTROL_KEY_VERSION);
  writeInt16(key, 2, opts.type);
  const value = new Uint8Array(END_TXN_MARKER_VALUE_SIZE);
  writeInt16(value, 0, END_TXN_MARKER_VERSION);
  new DataView(value.buffer).setInt32(2, opts.coordinatorEpoch);

  const size = BATCH_HEADER_SIZE + recordSize(0, 0, key, value);
  const out = new Uint8Array(size);
  const end = writeRecordAt(out, BATCH_HEADER_SIZE, 0, 0, key, value);
  if (end !== size) throw new Error("control record written with an unexpected size");
  const timestamp = BigInt(opts.timestampMs);
  writeBatchHeader(out, 0, {
    baseOffset: opts.baseOffset ?? 0n,
    batchLength: size - LOG_OVERHEAD,
    partitionLeaderEpoch: opts.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
    magic: CURRENT_MAGIC,
    crc: 0,
    attributes: ATTR_TRANSACTIONAL | ATTR_CONTROL,
    lastOffsetDelta: 0,
    baseTimestamp: timestamp,
    maxTimestamp: timestamp,
    producerId: opts.producerId,
    producerEpoch: opts.producerEpoch,
    baseSequence: NO_SEQUENCE,
    recordsCount: 1,
  });
  sealBatch(out, 0, size);
  return out;
}

/** What a transaction-marker batch says. */
export interface TxnMarker {
  /** ControlRecordType.ABORT or ControlRecordType.COMMIT. */
  type: number;
  /** Epoch of the coordinator that wrote it. */
  coordinatorEpoch: number;
}

const markerCursor = new RecordCursor();

/**
 * Reads the COMMIT/ABORT marker of the uncompressed control batch at `at`, or returns null when it is a
 * control batch of another type (KRaft records). Throws {@link MalformedFrameError} if the batch is not a
 * well-formed control batch.
 */
export function readTxnMarker(buf: Uint8Array, at: number, size: number): TxnMarker | null {
  const cursor = markerCursor.resetBatch(buf, at, size);
  if (!isControlBatch(buf, at)) {
    cursor.release();
    throw new MalformedFrameError("not a control batch", at);
  }
  try {
    if (!cursor.next()) throw new MalformedFrameError("control batch has no record", at);
    const type = controlRecordType(cursor.key());
    if (type !== ControlRecordType.ABORT && type !== ControlRecordType.COMMIT) return null;
    return { type, coordinatorEpoch: readEndTxnMarker(cursor.value()).coordinatorEpoch };
  } finally {
    cursor.release();
  }
}

function readInt16(b: Uint8Array, p: number): number {
  return ((b[p] << 24) >> 16) | b[p + 1];
}

function writeInt16(b: Uint8Array, p: number, v: number): void {
  b[p] = (v >> 8) & 0xff;
  b[p + 1] = v & 0xff;
}
