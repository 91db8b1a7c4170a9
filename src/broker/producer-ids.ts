/**
 * Producer id allocation for idempotent and transactional producers. Ids are handed out from blocks reserved
 * durably before use (like Kafka's AllocateProducerIds), so no id is ever handed out twice:
 * - a single node reserves its blocks in a file of its first log dir;
 * - a broker of a cluster reserves them from the cluster (a compare-and-set counter in etcd), so two brokers never
 *   give the same id to two producers (their batches would otherwise be taken for duplicates of each other and
 *   acknowledged without being written). The next block is fetched while half of the current one is left; when none
 *   is at hand {@link ProducerIdAllocator.next} throws the retriable COORDINATOR_LOAD_IN_PROGRESS, as Kafka's broker
 *   answers while its block request to the controller is pending.
 */
import type { FileSystem } from "../platform/fs.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";

/** Ids reserved per durable write (Kafka's producer id block size). */
export const PRODUCER_ID_BLOCK_SIZE = 1000n;

/** Reserves `size` ids cluster-wide, none below `floor`, and answers the first. */
export type ProducerIdBlockSource = (size: bigint, floor: bigint) => Promise<bigint>;

/** Hands out unique producer ids. */
export class ProducerIdAllocator {
  private next_: bigint;
  private blockEnd: bigint;
  /** The first id this broker's own file never handed out (ids a cluster must not hand out again). */
  private readonly localEnd: bigint;
  private readonly path: string;
  private readonly fs: FileSystem;
  private cluster: ProducerIdBlockSource | null = null;
  /** A block reserved in the cluster and not yet in use. */
  private spare: bigint | null = null;
  private fetching: Promise<void> | null = null;

  constructor(fs: FileSystem, dir: string) {
    this.fs = fs;
    this.path = `${dir}/__runnel_producer_ids`;
    const start = fs.exists(this.path) ? BigInt(new TextDecoder().decode(fs.readFile(this.path)).trim()) : 0n;
    this.next_ = start;
    this.blockEnd = start;
    this.localEnd = start;
  }

  /**
   * Cluster mode: blocks come from `source` from now on, never below the ids this broker's file handed out before it
   * joined a cluster (their producers may still be in the logs); fetches the first block.
   */
  useClusterBlocks(source: ProducerIdBlockSource): void {
    this.cluster = source;
    this.next_ = 0n;
    this.blockEnd = 0n;
    void this.ready().catch(() => {}); // retried at the first InitProducerId
  }

  /** Resolves once {@link next} has an id to give (in cluster mode it may have to reserve a block first). */
  async ready(): Promise<void> {
    if (this.cluster === null || this.next_ < this.blockEnd || this.spare !== null) return;
    await this.fetchSpare();
  }

  /** The next unused producer id; COORDINATOR_LOAD_IN_PROGRESS in cluster mode while no block is at hand. */
  next(): bigint {
    if (this.cluster !== null) return this.nextFromCluster();
    if (this.next_ >= this.blockEnd) {
      this.blockEnd = this.next_ + PRODUCER_ID_BLOCK_SIZE;
      this.fs.writeFileAtomic(this.path, new TextEncoder().encode(`${this.blockEnd}\n`));
    }
    return this.next_++;
  }

  private nextFromCluster(): bigint {
    if (this.next_ >= this.blockEnd) {
      if (this.spare === null) {
        void this.fetchSpare().catch(() => {});
        throw new KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, "no producer id block reserved in the cluster yet; retry");
      }
      this.next_ = this.spare;
      this.blockEnd = this.spare + PRODUCER_ID_BLOCK_SIZE;
      this.spare = null;
    }
    if (this.spare === null && this.blockEnd - this.next_ <= PRODUCER_ID_BLOCK_SIZE / 2n) void this.fetchSpare().catch(() => {});
    return this.next_++;
  }

  private fetchSpare(): Promise<void> {
    const source = this.cluster;
    if (source === null) return Promise.resolve();
    this.fetching ??= source(PRODUCER_ID_BLOCK_SIZE, this.localEnd).then(
      (first) => {
        this.fetching = null;
        this.spare = first;
      },
      (e) => {
        this.fetching = null;
        throw e;
      },
    );
    return this.fetching;
  }
}
