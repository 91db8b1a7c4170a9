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
  const text = `version: 0\ntopic_id: ${uuidBase64(topicId)}\n`;
  fs.writeFileAtomic(`${dir}/${PARTITION_METADATA_FILE}`, new TextEncoder().encode(text));
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
