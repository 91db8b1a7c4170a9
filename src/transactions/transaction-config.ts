/** The broker settings the transaction coordinator reads (Kafka key names), resolved once into numbers. */

/** Coordinator settings. */
export interface TransactionConfig {
  /** `transaction.state.log.num.partitions`: partitions of `__transaction_state` when it is created. */
  stateLogPartitions: number;
  /** `transaction.state.log.segment.bytes`. */
  stateLogSegmentBytes: number;
  /** `transaction.max.timeout.ms`: the largest `transaction.timeout.ms` a producer may ask for. */
  maxTimeoutMs: number;
  /** `transactional.id.expiration.ms`: idle transactional ids are forgotten after this. */
  transactionalIdExpirationMs: number;
  /** `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often timed-out transactions are aborted. */
  abortTimedOutIntervalMs: number;
  /** `transaction.remove.expired.transaction.cleanup.interval.ms`: how often expired transactional ids are removed. */
  removeExpiredIntervalMs: number;
}

/** Kafka's defaults. */
export const DEFAULT_TRANSACTION_CONFIG: Readonly<TransactionConfig> = {
  stateLogPartitions: 50,
  stateLogSegmentBytes: 104_857_600,
  maxTimeoutMs: 900_000,
  transactionalIdExpirationMs: 604_800_000,
  abortTimedOutIntervalMs: 10_000,
  removeExpiredIntervalMs: 3_600_000,
};

/** The part of the broker configuration read here (BrokerConfig satisfies it). */
export interface TransactionConfigSource {
  /** The raw value or default of a key, or null. */
  raw(key: string): string | null;
}

/** Reads the coordinator settings, falling back to Kafka's defaults; throws on a malformed or out-of-range value. */
export function transactionConfigFrom(src: TransactionConfigSource): TransactionConfig {
  const num = (key: string, fallback: number, min: number): number => {
    const v = src.raw(key);
    if (v === null || v.trim() === "") return fallback;
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new Error(`config ${key}=${v}: expected an integer`);
    if (n < min) throw new Error(`config ${key}=${v}: must be at least ${min}`);
    return n;
  };
  const d = DEFAULT_TRANSACTION_CONFIG;
  return {
    stateLogPartitions: num("transaction.state.log.num.partitions", d.stateLogPartitions, 1),
    stateLogSegmentBytes: num("transaction.state.log.segment.bytes", d.stateLogSegmentBytes, 1),
    maxTimeoutMs: num("transaction.max.timeout.ms", d.maxTimeoutMs, 1),
    transactionalIdExpirationMs: num("transactional.id.expiration.ms", d.transactionalIdExpirationMs, 1),
    abortTimedOutIntervalMs: num("transaction.abort.timed.out.transaction.cleanup.interval.ms", d.abortTimedOutIntervalMs, 1),
    removeExpiredIntervalMs: num("transaction.remove.expired.transaction.cleanup.interval.ms", d.removeExpiredIntervalMs, 1),
  };
}

/** Where the coordinator reports events. */
export interface TransactionLogger {
  /** Normal events. */
  info(msg: string): void;
  /** Handled problems. */
  warn(msg: string): void;
  /** Failures. */
  error(msg: string): void;
}
