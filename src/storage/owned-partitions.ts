/**
 * The partitions of an internal topic (`__consumer_offsets`, `__transaction_state`) that a coordinator serves in a
 * cluster: those its broker leads. A partition handed over is replayed on the next turn of the event loop (until
 * then its keys get COORDINATOR_LOAD_IN_PROGRESS), then served; one taken away, or never handed over, gets
 * NOT_COORDINATOR. Both coordinators keep one of these; on a single node they serve everything without it.
 */
import type { Clock } from "../platform/clock.ts";
import { ErrorCode } from "../protocol/errors.ts";

/** One partition handed over: its load timer until replayed. */
interface PartitionLoad {
  timer: unknown;
  loaded: boolean;
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
   * Starts serving `partition` (nothing when it is already served): `load` replays it on the next turn of the event
   * loop and answers whether it succeeded; when it did not, the partition is not served (a later hand-over retries).
   */
  add(partition: number, load: () => boolean): void {
    if (this.loads.has(partition)) return;
    const entry: PartitionLoad = { timer: null, loaded: false };
    this.loads.set(partition, entry);
    entry.timer = this.clock.setTimer(() => {
      entry.timer = null;
      if (this.loads.get(partition) !== entry) return;
      if (load()) entry.loaded = true;
      else this.loads.delete(partition);
    }, 0);
  }

  /** Stops serving `partition` (a pending load is cancelled); false when it was not served. */
  remove(partition: number): boolean {
    const entry = this.loads.get(partition);
    if (entry === undefined) return false;
    if (entry.timer !== null) this.clock.clearTimer(entry.timer);
    this.loads.delete(partition);
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
