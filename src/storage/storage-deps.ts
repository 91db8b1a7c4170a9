/** What storage is given from outside: file system, clock, logger and (optionally) a decompressor and a compressor. */
import type { Clock } from "../platform/clock.ts";
import type { FileSystem } from "../platform/fs.ts";
import type { RandomSource } from "../platform/random.ts";
import type { FlushRounds } from "./flush-rounds.ts";

/** Where storage reports recovery, retention and I/O failures. Any logger with these methods fits. */
export interface StorageLogger {
  /** Normal events (recovery results, segment deletion). */
  info(message: string): void;
  /** Unexpected but handled conditions (a rebuilt index). */
  warn(message: string): void;
  /** Failures that took a log offline. */
  error(message: string): void;
}

/**
 * Decompresses the records section of a batch (`codecId` from attributes bits 0-2). The broker passes the
 * compression layer in; storage never imports it.
 */
export type Decompress = (codecId: number, section: Uint8Array) => Uint8Array;

/** Compresses a records section with codec `codecId` (1-4), for the log cleaner's rebuilt batches; the broker passes it in. */
export type Compress = (codecId: number, section: Uint8Array) => Uint8Array;

/** Dependencies of a {@link PartitionLog} and the LogManager. */
export interface StorageDeps {
  /** File access. */
  fs: FileSystem;
  /** Time source (roll by segment.ms, retention, flush.ms). */
  clock: Clock;
  /** Event sink. */
  logger: StorageLogger;
  /** Decompressor for offsetForTimestamp on compressed batches; without it the batch's first offset is used. */
  decompress?: Decompress;
  /** Compressor for batches the log cleaner rebuilds; without it a rebuilt compressed batch is stored uncompressed. */
  compress?: Compress;
  /** Randomness (segment.jitter.ms, delete-dir names, cleaner hash seeds); the runtime's when absent. */
  random?: RandomSource;
  /** Broker-wide flush rounds (`runnel.log.flush.rounds`); absent: each log group-commits its own fdatasyncs. */
  flushRounds?: FlushRounds;
  /** Most fdatasyncs of one log that may run at once (`runnel.log.flush.overlapping`; default 1, at least 1). */
  maxOverlappingFlushes?: number;
  /** `runnel.log.pretouch.bytes`: space kept cached ahead of an active segment's end by bulk appends (Segment.pretouchAhead); 0 or absent: none. */
  pretouchBytes?: number;
  /** `runnel.log.pretouch.pause.ms`: appends start no zeros for this long after a flush was asked for (default DEFAULT_PRETOUCH_PAUSE_MS). */
  pretouchPauseMs?: number;
  /** `runnel.log.pretouch.min.append.bytes`: smallest append that keeps zeros coming ahead (default PRETOUCH_MIN_APPEND_BYTES). */
  pretouchMinAppendBytes?: number;
}

/** A logger that drops everything (tests, benchmarks). */
export const silentStorageLogger: StorageLogger = {
  info() {},
  warn() {},
  error() {},
};
