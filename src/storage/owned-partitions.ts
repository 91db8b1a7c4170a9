/**
 * The partitions of an internal topic (`__consumer_offsets`, `__transaction_state`) that a coordinator serves in a
 * cluster: those its broker leads. A partition handed over is replayed step by step, one step per turn of the event
 * loop (so serving the others goes on; meanwhile its keys get COORDINATOR_LOAD_IN_PROGRESS), then served; one taken
 * away (its replay stopped), or never handed over, gets NOT_COORDINATOR. Both coordinators keep one of these; on a
 * single node they serve everything without it.
 */
import type { Clock } from "../platform/clock.ts";
import { ErrorCode } from "../protocol/errors.ts";

/** One partition handed over: its replay and the timer of its next step until replayed. */
interface PartitionLoad {
  timer: unknown;
  loaded: boolean;
  steps: Generator<void, boolean, void>;
}

/** Runs `steps` to the end at once; its result. */
export function finishSteps<T>(steps: Generator<void, T, void>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
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
   * event loop from the next one, and ends with whether it succeeded; when it did not (or threw), the partition is
   * not served (a later hand-over retries).
   */
  add(partition: number, load: () => Generator<void, boolean, void>): void {
    if (this.loads.has(partition)) return;
    const entry: PartitionLoad = { timer: null, loaded: false, steps: load() };
    this.loads.set(partition, entry);
    const step = () => {
      entry.timer = null;
      if (this.loads.get(partition) !== entry) return;
      let r: IteratorResult<void, boolean>;
      try {
        r = entry.steps.next();
      } catch {
        r = { done: true, value: false };
      }
      if (!r.done) entry.timer = this.clock.setTimer(step, 0);
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
