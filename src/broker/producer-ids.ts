/**
 * Producer id allocation for idempotent producers. Ids are handed out from blocks recorded durably before use
 * (like Kafka's AllocateProducerIds), so a restart never hands out an id twice.
 */
import type { FileSystem } from "../platform/fs.ts";

/** Ids reserved per durable write. */
export const PRODUCER_ID_BLOCK_SIZE = 1000n;

/** Hands out unique producer ids. */
export class ProducerIdAllocator {
  private next_: bigint;
  private blockEnd: bigint;
  private readonly path: string;
  private readonly fs: FileSystem;

  constructor(fs: FileSystem, dir: string) {
    this.fs = fs;
    this.path = `${dir}/__runnel_producer_ids`;
    const start = fs.exists(this.path) ? BigInt(new TextDecoder().decode(fs.readFile(this.path)).trim()) : 0n;
    this.next_ = start;
    this.blockEnd = start;
  }

  /** The next unused producer id. */
  next(): bigint {
    if (this.next_ >= this.blockEnd) {
      this.blockEnd = this.next_ + PRODUCER_ID_BLOCK_SIZE;
      this.fs.writeFileAtomic(this.path, new TextEncoder().encode(`${this.blockEnd}\n`));
    }
    return this.next_++;
  }
}
