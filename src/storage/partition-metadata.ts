/**
 * `partition.metadata` in each partition directory: `version: 0` and `topic_id: <id>`, the id printed as Kafka
 * prints a Uuid (URL-safe base64 of the 16 bytes, no padding: 22 characters).
 */
import type { FileSystem } from "../platform/fs.ts";

/** File name of the partition metadata file. */
export const PARTITION_METADATA_FILE = "partition.metadata";
const UUID_BYTES = 16;

/** Encodes a 16-byte topic id the way Kafka prints it. */
export function uuidToBase64Url(id: Uint8Array): string {
  if (id.length !== UUID_BYTES) throw new RangeError(`topic id must be ${UUID_BYTES} bytes, got ${id.length}`);
  let bin = "";
  for (const b of id) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes Kafka's printed form of a topic id; null if it is not 16 bytes of URL-safe base64. */
export function uuidFromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]{22}$/.test(text)) return null;
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "==");
  if (bin.length !== UUID_BYTES) return null;
  const out = new Uint8Array(UUID_BYTES);
  for (let i = 0; i < UUID_BYTES; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Writes `partition.metadata` into `dir` atomically. */
export function writePartitionMetadata(fs: FileSystem, dir: string, topicId: Uint8Array): void {
  const text = `version: 0\ntopic_id: ${uuidToBase64Url(topicId)}\n`;
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
  return uuidFromBase64Url(id[1]);
}
