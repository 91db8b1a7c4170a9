/**
 * Producer id allocation for idempotent producers. Ids are handed out from blocks recorded durably before use
 * (like Kafka's AllocateProducerIds), so a restart never hands out an id twice. In a cluster every broker allocates
 * from its own log dir, so the ids of broker `node.id` are interleaved: `local * PRODUCER_ID_NODE_SPACE + node.id`,
 * never equal to another broker's (two producers sharing an id would have each other's batches taken for
 * duplicates and dropped).
 */
import type { FileSystem } from "../platform/fs.ts";

/** Ids reserved per durable write. */
export const PRODUCER_ID_BLOCK_SIZE = 1000n;
/** In a cluster: how many node ids the interleaving leaves room for (node.id must be below it). */
export const PRODUCER_ID_NODE_SPACE = 1n << 20n;

/** Hands out unique producer ids. */
export class ProducerIdAllocator {
  private next_: bigint;
  private blockEnd: bigint;
  private readonly path: string;
  private readonly fs: FileSystem;
  private node: bigint | null = null;

  constructor(fs: FileSystem, dir: string) {
    this.fs = fs;
    this.path = `${dir}/__runnel_producer_ids`;
    const start = fs.exists(this.path) ? BigInt(new TextDecoder().decode(fs.readFile(this.path)).trim()) : 0n;
    this.next_ = start;
    this.blockEnd = start;
  }

  /** Cluster mode: from now on ids are interleaved with the other brokers' by `nodeId` (unique cluster-wide). */
  interleave(nodeId: number): void {
    if (!Number.isInteger(nodeId) || nodeId < 0 || BigInt(nodeId) >= PRODUCER_ID_NODE_SPACE) throw new Error(`node.id ${nodeId} must be in [0, ${PRODUCER_ID_NODE_SPACE}) in a cluster (producer ids are interleaved by node id)`);
    this.node = BigInt(nodeId);
  }

  /** The next unused producer id. */
  next(): bigint {
    if (this.next_ >= this.blockEnd) {
      this.blockEnd = this.next_ + PRODUCER_ID_BLOCK_SIZE;
      this.fs.writeFileAtomic(this.path, new TextEncoder().encode(`${this.blockEnd}\n`));
    }
    const local = this.next_++;
    return this.node === null ? local : local * PRODUCER_ID_NODE_SPACE + this.node;
  }
}
