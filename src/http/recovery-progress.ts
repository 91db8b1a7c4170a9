/**
 * Log recovery progress as `/v1/ready` reports it while a node starts: one broker's partitions loaded of those
 * found, or, on a sharded node, each shard's (each recovers its own partitions in its thread) and which shards
 * already serve.
 */

/** One broker's, or one shard's, recovery so far. */
export interface ShardRecovery {
  /** Shard index (0 for a single broker). */
  shard: number;
  /** Partitions loaded so far. */
  loaded: number;
  /** Partitions found in the log dirs (0 until it reports). */
  total: number;
  /** Its logs are recovered and it serves. */
  recovered: boolean;
}

/** Told of each shard's start (src/shard/shard-host.ts): its log recovery, then that it serves. */
export interface ShardStartWatcher {
  /** Shard `shard` has loaded `loaded` of the `total` partitions it found. */
  recovering(shard: number, loaded: number, total: number): void;
  /** Shard `shard` has recovered its logs and serves. */
  serving(shard: number): void;
}

/** The recovery of a node of `shards` shards (1: one broker), for `/v1/ready`. */
export class RecoveryProgress implements ShardStartWatcher {
  private readonly parts: ShardRecovery[];

  constructor(private readonly shards: number) {
    if (!Number.isInteger(shards) || shards < 1) throw new Error(`a node has at least one shard, got ${shards}`);
    this.parts = Array.from({ length: shards }, (_, shard) => ({ shard, loaded: 0, total: 0, recovered: false }));
  }

  /** See {@link ShardStartWatcher.recovering}. */
  recovering(shard: number, loaded: number, total: number): void {
    const p = this.part(shard);
    p.loaded = loaded;
    p.total = total;
  }

  /** See {@link ShardStartWatcher.serving}. */
  serving(shard: number): void {
    this.part(shard).recovered = true;
  }

  /**
   * Why the node is not ready yet, and on a sharded node each shard's part: `recovering logs: L/T partitions loaded`
   * (sums over the shards that reported), followed for several shards by `(shard 0: 4/4, recovered; shard 1: 1/4)`;
   * once every shard serves, `logs recovered: T partitions loaded; the listeners are starting`.
   */
  state(): { reason: string; shards?: ShardRecovery[] } {
    const loaded = this.parts.reduce((n, p) => n + p.loaded, 0);
    const total = this.parts.reduce((n, p) => n + p.total, 0);
    const reason = `recovering logs: ${loaded}/${total} partitions loaded`;
    if (this.shards === 1) return { reason };
    const shards = this.parts.map((p) => ({ ...p }));
    if (shards.every((p) => p.recovered)) return { reason: `logs recovered: ${loaded}/${total} partitions loaded; the listeners are starting`, shards };
    const each = shards.map((p) => `shard ${p.shard}: ${p.loaded}/${p.total}${p.recovered ? ", recovered" : ""}`);
    return { reason: `${reason} (${each.join("; ")})`, shards };
  }

  private part(shard: number): ShardRecovery {
    const p = this.parts[shard];
    if (p === undefined) throw new Error(`no shard ${shard} of ${this.shards}`);
    return p;
  }
}
