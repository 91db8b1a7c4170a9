/**
 * Errors storage throws, each carrying the Kafka error code a handler should answer with (see
 * `src/protocol/errors.ts`).
 */
import { ErrorCode, KafkaError } from "../protocol/errors.ts";

/** A fetch or truncation offset outside [logStartOffset, logEndOffset] (OFFSET_OUT_OF_RANGE). */
export class OffsetOutOfRangeError extends KafkaError {
  /** The offset asked for. */
  readonly offset: bigint;
  /** The log start offset at the time. */
  readonly logStartOffset: bigint;
  /** The log end offset at the time. */
  readonly logEndOffset: bigint;
  constructor(topicPartition: string, offset: bigint, logStartOffset: bigint, logEndOffset: bigint) {
    super(
      ErrorCode.OFFSET_OUT_OF_RANGE,
      `offset ${offset} is out of range for ${topicPartition}: log start ${logStartOffset}, log end ${logEndOffset}`,
    );
    this.name = "OffsetOutOfRangeError";
    this.offset = offset;
    this.logStartOffset = logStartOffset;
    this.logEndOffset = logEndOffset;
  }
}

/** Batches handed to append that break an invariant: bad framing, or offsets that do not increase (CORRUPT_MESSAGE). */
export class InvalidBatchError extends KafkaError {
  constructor(message: string) {
    super(ErrorCode.CORRUPT_MESSAGE, message);
    this.name = "InvalidBatchError";
  }
}

/** The log hit an I/O failure and refuses further writes until it is reopened (KAFKA_STORAGE_ERROR). */
export class LogStorageError extends KafkaError {
  /** The I/O error that took the log offline. */
  readonly ioError: unknown;
  constructor(topicPartition: string, cause: unknown) {
    super(ErrorCode.KAFKA_STORAGE_ERROR, `log ${topicPartition} is offline after an I/O error: ${String(cause)}`);
    this.name = "LogStorageError";
    this.ioError = cause;
  }
}

/** Whether `e` is an operating-system I/O error (it carries an errno code such as EIO), not a bug or a bad argument. */
export function isIoError(e: unknown): boolean {
  return typeof (e as { code?: unknown } | null)?.code === "string";
}

/** Errno codes work in flight on a file gets once it was deleted on purpose: its directory removed, its descriptor closed. */
const DELETION_AFTERMATH = new Set(["ENOENT", "EBADF"]);

/**
 * Whether `e`, hit by work in flight on a segment or log deleted meanwhile, is what the deletion itself caused (no
 * disk failure). Any other error (EIO of an fdatasync issued before the deletion) is the disk's, as in Kafka, which
 * swallows only a deleted log's NoSuchFileException (LocalLog.flush -> Utils.flushDirIfExists).
 */
export function isDeletionAftermath(e: unknown): boolean {
  return DELETION_AFTERMATH.has(String((e as { code?: unknown } | null)?.code));
}
