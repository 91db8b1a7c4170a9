/**
 * A bound on asynchronous file work that holds a descriptor open while it waits (an atomic small-file write
 * waiting for its fdatasync, a directory waiting for its fsync). Without it, creating thousands of partitions at
 * once opens thousands of files at the same moment and runs into the open-files limit (EMFILE).
 */

/** Most asynchronous fsyncs that may hold an open file at once; the rest wait for a slot, first come first served. */
export const MAX_ASYNC_FSYNCS_IN_FLIGHT = 32;

/** A counting semaphore of {@link MAX_ASYNC_FSYNCS_IN_FLIGHT} slots. */
export class FdSlots {
  private inUse = 0;
  private readonly waiting: Array<() => void> = [];

  /** @param limit slots available; a positive integer. */
  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`FdSlots limit must be a positive integer, got ${limit}`);
  }

  /** Runs `work` once a slot is free and frees the slot when it settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.inUse >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.inUse++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes straight to the next waiter
      else this.inUse--;
    }
  }

  /** Slots held now (for tests). */
  get held(): number {
    return this.inUse;
  }
}

/** The process-wide slots shared by every asynchronous fsync of {@link nodeFileSystem}. */
export const asyncFsyncSlots = new FdSlots(MAX_ASYNC_FSYNCS_IN_FLIGHT);
