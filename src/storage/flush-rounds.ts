/**
 * Broker-wide group commit (`runnel.log.flush.rounds=true`): instead of each partition log running its own
 * fdatasync queue, every log asking for a flush joins one round, and one round of fdatasyncs at a time covers every
 * log that asked since the previous round started. A log asking while a round runs shares it when that round's
 * fdatasync already covers its data; otherwise it waits for the next round, which starts the moment the running
 * one ends. Each log's own promise settles with its own flush (a failure takes only that log offline), so an
 * acks=all answer still waits for the fdatasync that covers its records.
 */

/** What a round flushes: a log's flush of everything appended before the call. */
export interface RoundFlushable {
  /** Starts one flush of everything appended so far (fdatasyncs; directory fsync when a file was created). */
  startFlush(): Promise<void>;
  /** Whether the flush started last covers everything appended so far. */
  flushCoversAppended(): boolean;
}

interface Round {
  /** Each log's flush in this round. */
  readonly flushes: Map<RoundFlushable, Promise<void>>;
}

interface Waiter {
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

/** The rounds of one LogManager (one per node, or per shard). */
export class FlushRounds {
  private running: Round | null = null;
  /** Logs waiting for the next round, each with the promise its callers hold. */
  private next = new Map<RoundFlushable, Waiter>();
  /** Rounds started (for tests and metrics). */
  rounds = 0;

  /** Resolves once an fdatasync that started after this call (or that covers everything appended) completes for `log`. */
  request(log: RoundFlushable): Promise<void> {
    if (this.running === null) {
      if (this.next.size !== 0) throw new Error("flush rounds: logs wait for a next round while none runs");
      return this.start(new Map([[log, null]])).get(log)!;
    }
    const shared = this.running.flushes.get(log);
    if (shared !== undefined && log.flushCoversAppended()) return shared;
    let w = this.next.get(log);
    if (w === undefined) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      w = { promise, resolve, reject };
      this.next.set(log, w);
    }
    return w.promise;
  }

  /** Starts a round over `logs` (each with the waiter its callers hold, or none); returns each log's flush. */
  private start(logs: Map<RoundFlushable, Waiter | null>): Map<RoundFlushable, Promise<void>> {
    this.rounds++;
    const flushes = new Map<RoundFlushable, Promise<void>>();
    for (const [log, waiter] of logs) {
      let p: Promise<void>;
      try {
        p = log.startFlush();
      } catch (e) {
        p = Promise.reject(e);
      }
      if (waiter !== null) p.then(waiter.resolve, waiter.reject);
      flushes.set(log, p);
    }
    const round: Round = { flushes };
    this.running = round;
    Promise.allSettled(flushes.values()).then(() => {
      this.running = null;
      if (this.next.size === 0) return;
      const waiting = this.next;
      this.next = new Map();
      this.start(waiting);
    });
    return flushes;
  }
}
