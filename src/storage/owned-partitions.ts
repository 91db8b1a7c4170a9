/**
 * The partitions of an internal topic (`__consumer_offsets`, `__transaction_state`) that a coordinator serves in a
 * cluster: those its broker leads. A partition handed over is replayed step by step, one step per turn of the event
 * loop (so serving the others goes on; meanwhile its keys get COORDINATOR_LOAD_IN_PROGRESS), then served; one taken
 * away (its replay stopped), or never handed over, gets NOT_COORDINATOR. Both coordinators keep one of these; on a
 * single node they serve everything without it.
 */
import type { Clock } from "../platform/clock.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { RecordCursor } from "../protocol/record-batch.ts";

/** One partition handed over: its replay and the timer of its next step until replayed. */
interface PartitionLoad {
  timer: unknown;
  loaded: boolean;
  steps: Generator<LoadStep, boolean, void>;
}

/**
 * What one step of a load yields: nothing (the next step runs on the next turn of the event loop), or a promise the
 * next step waits for (it must not reject), such as the high watermark passing what was replayed.
 */
export type LoadStep = void | Promise<void>;

/** Runs `steps` to the end at once; its result. */
export function finishSteps<T>(steps: Generator<LoadStep, T, void>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Bytes read per step when a coordinator replays a partition of its internal topic. */
export const REPLAY_READ_BYTES = 4 * 1024 * 1024;

/** Reads whole batches of one partition from `offset`, about `maxBytes` at most (a coordinator's storage). */
export type ReplayRead = (offset: bigint, maxBytes: number) => { chunks: Uint8Array[]; nextOffset: bigint; endOffset: bigint };

/**
 * Replays the partition `label` from its start to its end: each read of about {@link REPLAY_READ_BYTES} is handed,
 * chunk by chunk, to `replayChunk` (with one cursor shared by the whole replay; it returns the records it applied),
 * and the replay pauses (yields) after each read but the last, so a coordinator loading a large partition gives the
 * event loop back in between. Ends with the records applied; throws when a read makes no progress.
 */
export function* replayInSteps(label: string, read: ReplayRead, replayChunk: (chunk: Uint8Array, cursor: RecordCursor) => number): Generator<void, number, void> {
  let offset = 0n;
  let records = 0;
  const cursor = new RecordCursor();
  try {
    for (;;) {
      const r = read(offset, REPLAY_READ_BYTES);
      if (r.chunks.length === 0) break;
      for (const chunk of r.chunks) records += replayChunk(chunk, cursor);
      if (r.nextOffset <= offset) throw new Error(`loading ${label} made no progress at offset ${offset}`);
      offset = r.nextOffset;
      if (offset >= r.endOffset) break;
      yield;
    }
  } finally {
    cursor.release();
  }
  return records;
}

/** Pause before a load waits again for its partition's log to be committed, after the wait was refused. */
export const LOAD_COMMIT_RETRY_MS = 100;

/**
 * Load steps that end once `whenCommitted()` resolves: everything the coordinator replayed is on the ISR (Kafka's
 * coordinators load the log of a leader the ISR follows). A refused wait (leadership lost: the partition is then
 * taken away; too many waiters) is tried again after LOAD_COMMIT_RETRY_MS. A broker restarted after a power cut and
 * still named leader until its old lease runs out may hold a tail no follower has: it must not answer from it.
 */
export function* untilLogCommitted(whenCommitted: () => Promise<void>, clock: Clock): Generator<LoadStep, void, void> {
  for (;;) {
    let committed = true;
    yield whenCommitted().catch(() => {
      committed = false;
    });
    if (committed) return;
    yield new Promise<void>((resolve) => clock.setTimer(resolve, LOAD_COMMIT_RETRY_MS));
  }
}

/** The partitions one coordinator serves. */
export class OwnedPartitions {
  private readonly clock: Clock;
  private readonly loads = new Map<number, PartitionLoad>();

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Whether `partition` is served or being loaded. */
  has(partition: number): boolean {
    return this.loads.has(partition);
  }

  /**
   * Starts serving `partition` (nothing when it is already served): `load()` replays it, one step per turn of the
   * event loop from the next one (or once the promise a step yielded settles), and ends with whether it succeeded;
   * when it did not (or threw), the partition is not served (a later hand-over retries).
   */
  add(partition: number, load: () => Generator<LoadStep, boolean, void>): void {
    if (this.loads.has(partition)) return;
    const entry: PartitionLoad = { timer: null, loaded: false, steps: load() };
    this.loads.set(partition, entry);
    const step = () => {
      entry.timer = null;
      if (this.loads.get(partition) !== entry) return;
      let r: IteratorResult<LoadStep, boolean>;
      try {
        r = entry.steps.next();
      } catch {
        r = { done: true, value: false };
      }
      if (!r.done && r.value instanceof Promise) void r.value.then(() => (entry.timer = this.clock.setTimer(step, 0)));
      else if (!r.done) entry.timer = this.clock.setTimer(step, 0);
      else if (r.value) entry.loaded = true;
      else this.loads.delete(partition);
    };
    entry.timer = this.clock.setTimer(step, 0);
  }

  /** Stops serving `partition` (a pending load is cancelled); false when it was not served. */
  remove(partition: number): boolean {
    const entry = this.loads.get(partition);
    if (entry === undefined) return false;
    if (entry.timer !== null) this.clock.clearTimer(entry.timer);
    this.loads.delete(partition);
    if (!entry.loaded) entry.steps.return(false); // a replay stopped half-way releases what it holds
    return true;
  }

  /** NONE when `partition` is served now, COORDINATOR_LOAD_IN_PROGRESS while it loads, else NOT_COORDINATOR. */
  errorFor(partition: number): number {
    const entry = this.loads.get(partition);
    if (entry === undefined) return ErrorCode.NOT_COORDINATOR;
    return entry.loaded ? ErrorCode.NONE : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  }

  /** Cancels every pending load. */
  clear(): void {
    for (const p of [...this.loads.keys()]) this.remove(p);
  }
}
