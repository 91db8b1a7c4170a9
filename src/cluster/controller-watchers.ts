/**
 * The callers told of a node's controller changes (a sharded broker of an etcd cluster: its shard host keeps the
 * controller cell its shards read). Each watcher comes with its remover, so one that stops is told of nothing after.
 */

/** A node's controller watchers; the control plane's `onControllerChange` calls {@link ControllerWatchers.notify}. */
export class ControllerWatchers {
  private readonly watchers = new Set<(controllerId: number) => void>();

  /** Adds `watcher` (called with the active controller's id at each change, -1: none); returns its remover. */
  add(watcher: (controllerId: number) => void): () => void {
    // A wrapper of its own: the same function added twice is two watchers, each removed by its own remover.
    const own = (controllerId: number) => watcher(controllerId);
    this.watchers.add(own);
    return () => void this.watchers.delete(own);
  }

  /** Calls every watcher with `controllerId`. */
  notify(controllerId: number): void {
    for (const w of this.watchers) w(controllerId);
  }

  /** Watchers added and not removed. */
  get size(): number {
    return this.watchers.size;
  }
}
