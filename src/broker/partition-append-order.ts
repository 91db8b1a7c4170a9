/**
 * Keeps Produce appends to one partition in arrival order while some of them wait for codec work off the event
 * loop (produce-validation.ts). A partition with nothing waiting appends at once, on the loop, as before; once
 * one append waits, every later Produce append to that partition (from any connection) queues behind it, so a
 * batch is never overtaken and idempotent sequence checks see batches in the order they arrived.
 */

/** The appends of one partition still waiting. */
interface AppendQueue {
  /** Settles when the last queued append has run. */
  tail: Promise<unknown>;
  /** Queued appends not yet run. */
  waiting: number;
}

/** Waiting appends by partition (absent: none wait). */
const queues = new WeakMap<object, AppendQueue>();

/**
 * Runs `append(value)` once `ready` (a value, or a promise of one) is there and every earlier queued append of
 * `partition` has run (or failed): at once when nothing waits and `ready` is a value, otherwise later, and the
 * result is a promise. A rejected `ready` or a throwing `append` rejects only this result.
 */
export function appendInArrivalOrder<T, R>(partition: object, ready: T | Promise<T>, append: (value: T) => R): R | Promise<R> {
  let q = queues.get(partition);
  if (q === undefined && !(ready instanceof Promise)) return append(ready);
  if (q === undefined) {
    q = { tail: Promise.resolve(), waiting: 0 };
    queues.set(partition, q);
  }
  const queue = q;
  queue.waiting++;
  if (ready instanceof Promise) ready.catch(() => {}); // observed below, once the earlier appends have run
  const result = queue.tail.then(() => ready).then(append);
  queue.tail = result.then(
    () => release(partition, queue),
    () => release(partition, queue),
  );
  return result;
}

/** Counts one queued append as run; forgets the queue when none waits. */
function release(partition: object, queue: AppendQueue): void {
  queue.waiting--;
  if (queue.waiting === 0 && queues.get(partition) === queue) queues.delete(partition);
}
