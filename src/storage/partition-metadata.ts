/**
 * `partition.metadata` in each partition directory: `version: 0` and `topic_id: <id>`, the id printed as Kafka
 * prints a Uuid (URL-safe base64 of the 16 bytes, no padding: 22 characters).
 */
import type { FileSystem } from "../platform/fs.ts";
import { uuidBase64, uuidFromBase64 } from "../protocol/uuid.ts";

/** File name of the partition metadata file. */
export const PARTITION_METADATA_FILE = "partition.metadata";

/** Writes `partition.metadata` into `dir` atomically. */
export function writePartitionMetadata(fs: FileSystem, dir: string, topicId: Uint8Array): void {
  fs.writeFileAtomic(`${dir}/${PARTITION_METADATA_FILE}`, partitionMetadataText(topicId));
}

/**
 * Writes `partition.metadata` into a new partition's `dir` at once, readable but not yet durable, and returns the
 * asynchronous durable rewrite of the same bytes (temp file, fdatasync, rename): nothing blocks the event loop.
 */
export function writePartitionMetadataSoon(fs: FileSystem, dir: string, topicId: Uint8Array): () => Promise<void> {
  const path = `${dir}/${PARTITION_METADATA_FILE}`;
  const text = partitionMetadataText(topicId);
  const h = fs.open(`${path}.tmp`, true);
  try {
    h.truncate(0);
    h.write(text, 0);
  } finally {
    h.close();
  }
  fs.rename(`${path}.tmp`, path);
  return () => fs.writeFileAtomicAsync(path, text, "durable");
}

function partitionMetadataText(topicId: Uint8Array): Uint8Array {
  return new TextEncoder().encode(`version: 0\ntopic_id: ${uuidBase64(topicId)}\n`);
}

/** Reads the topic id from `dir/partition.metadata`; null if the file is missing or malformed. */
export function readPartitionMetadata(fs: FileSystem, dir: string): Uint8Array | null {
  const path = `${dir}/${PARTITION_METADATA_FILE}`;
  if (!fs.exists(path)) return null;
  const text = new TextDecoder().decode(fs.readFile(path));
  const version = /^version:\s*(\d+)\s*$/m.exec(text);
  const id = /^topic_id:\s*(\S+)\s*$/m.exec(text);
  if (version === null || version[1] !== "0" || id === null) return null;
  return uuidFromBase64(id[1]);
}
