/**
 * Producer id allocation for idempotent and transactional producers. Ids are handed out from blocks reserved
 * durably before use (like Kafka's AllocateProducerIds), so no id is ever handed out twice:
 * - a single node reserves its blocks in a file of its first log dir, written off the event loop (temp file,
 *   asynchronous fdatasync, rename, directory fsync) before any id of the block is handed out;
 * - a broker of a cluster reserves them from the cluster (a compare-and-set counter in etcd), so two brokers never
 *   give the same id to two producers (their batches would otherwise be taken for duplicates of each other and
 *   acknowledged without being written). The next block is fetched while half of the current one is left; when none
 *   is at hand {@link ProducerIdAllocator.next} throws the retriable COORDINATOR_LOAD_IN_PROGRESS, as Kafka's broker
 *   answers while its block request to the controller is pending;
 * - a shard of a node has no file of its own: its blocks come through the shard host, which alone reads and writes
 *   the node's file (read before any shard starts) and keeps the node's floor. A shard reading the file while the
 *   host renames a new block over it could fail (ENOENT on a FUSE or network file system) and stop the node's start.
 */
import * as nodePath from "node:path";
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
  private localEnd: bigint;
  /** The block file, or null for a shard of a node (its host keeps the node's file). */
  private readonly path: string | null;
  private readonly fs: FileSystem;
  /** Where blocks come from: this broker's file, or the cluster once {@link useClusterBlocks} is called. */
  private source: ProducerIdBlockSource;
  /** The end of the last block reserved in the file (reserved in memory before its write, so blocks never overlap). */
  private fileReservedEnd: bigint;
  /** A block reserved and not yet in use. */
  private spare: bigint | null = null;
  private fetching: Promise<void> | null = null;

  /**
   * `dir`: the log dir holding this broker's block file; null for a shard of a node, which never touches the node's
   * file (its blocks come through the host: {@link useClusterBlocks}).
   */
  constructor(fs: FileSystem, dir: string | null) {
    this.fs = fs;
    this.path = dir === null ? null : `${dir}/__runnel_producer_ids`;
    const start = this.path !== null && fs.exists(this.path) ? BigInt(new TextDecoder().decode(fs.readFile(this.path)).trim()) : 0n;
    this.next_ = start;
    this.blockEnd = start;
    this.localEnd = start;
    this.fileReservedEnd = start;
    this.source = (size) => this.reserveInFile(size);
  }

  /**
   * Reserves the next `size` ids in the file, none below `floor`, durably, without blocking the event loop; answers
   * the first. Also the block source of a node's shards (served by the shard host from the node's file).
   */
  async reserveInFile(size: bigint, floor = 0n): Promise<bigint> {
    if (this.path === null) throw new Error("a shard has no producer id file: its blocks come from the shard host");
    const first = this.fileReservedEnd > floor ? this.fileReservedEnd : floor;
    this.fileReservedEnd = first + size;
    await this.fs.writeFileAtomicAsync(this.path, new TextEncoder().encode(`${this.fileReservedEnd}\n`), "reserve");
    await this.fs.syncDirAsync(nodePath.dirname(this.path));
    return first;
  }

  /** The first id this broker's file never reserved: the floor of the ids a cluster may hand out to this node. */
  get fileEnd(): bigint {
    return this.fileReservedEnd;
  }

  /**
   * Cluster mode: blocks come from `source` from now on, never below the ids this broker's file handed out before it
   * joined a cluster (their producers may still be in the logs); fetches the first block.
   */
  useClusterBlocks(source: ProducerIdBlockSource): void {
    this.source = source;
    this.localEnd = this.fileReservedEnd;
    this.next_ = 0n;
    this.blockEnd = 0n;
    this.spare = null;
    this.fetching = null;
    void this.ready().catch(() => {}); // retried at the first InitProducerId
  }

  /** Resolves once {@link next} has an id to give (a block may have to be reserved first). */
  async ready(): Promise<void> {
    if (this.next_ < this.blockEnd || this.spare !== null) return;
    await this.fetchSpare();
  }

  /** The next unused producer id; COORDINATOR_LOAD_IN_PROGRESS while no reserved block is at hand (see {@link ready}). */
  next(): bigint {
    if (this.next_ >= this.blockEnd) {
      if (this.spare === null) {
        void this.fetchSpare().catch(() => {});
        throw new KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, "no producer id block reserved yet; retry");
      }
      this.next_ = this.spare;
      this.blockEnd = this.spare + PRODUCER_ID_BLOCK_SIZE;
      this.spare = null;
    }
    if (this.spare === null && this.blockEnd - this.next_ <= PRODUCER_ID_BLOCK_SIZE / 2n) void this.fetchSpare().catch(() => {});
    return this.next_++;
  }

  private fetchSpare(): Promise<void> {
    const source = this.source;
    this.fetching ??= source(PRODUCER_ID_BLOCK_SIZE, this.localEnd).then(
      (first) => {
        if (this.source !== source) return; // reserved before cluster mode began: not the cluster's
        this.fetching = null;
        this.spare = first;
      },
      (e) => {
        if (this.source === source) this.fetching = null;
        throw e;
      },
    );
    return this.fetching;
  }
}
