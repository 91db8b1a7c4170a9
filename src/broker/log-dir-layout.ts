/**
 * The files a broker keeps at the root of each log dir for all its partitions, and the way back to one broker
 * after a sharded run (`runnel.shards` > 1) used the dirs: shards keep these files with a per-shard suffix
 * (src/storage/log-dir-share.ts), and their partition states name the shards' internal node ids.
 */
import * as nodePath from "node:path";
import type { FileSystem } from "../platform/fs.ts";
import { CLEANER_OFFSET_CHECKPOINT, LOG_START_OFFSET_CHECKPOINT, RECOVERY_POINT_CHECKPOINT } from "../storage/checkpoint.ts";
import { CLEAN_SHUTDOWN_FILE } from "../storage/log-manager.ts";
import { consolidateRootFiles, hasShardRootFiles } from "../storage/log-dir-share.ts";
import { REPLICATION_OFFSET_CHECKPOINT } from "../partition/high-watermark-checkpoint.ts";
import { normalizePlacement } from "../cluster/placement-normalization.ts";
import type { LocalMetadataStore } from "../cluster/metadata-store.ts";

/** The offset checkpoints at a log dir's root (Kafka's names). */
export const ROOT_CHECKPOINTS: readonly string[] = [RECOVERY_POINT_CHECKPOINT, LOG_START_OFFSET_CHECKPOINT, CLEANER_OFFSET_CHECKPOINT, REPLICATION_OFFSET_CHECKPOINT];

/** The clean-shutdown marker at a log dir's root. */
export const ROOT_MARKER = CLEAN_SHUTDOWN_FILE;

/** Creates `dir` if it is missing and syncs its parent, so that a new log dir's name survives a power cut (as Kafka does). */
export function createLogDir(fs: FileSystem, dir: string): void {
  if (fs.exists(dir)) return;
  fs.mkdirp(dir);
  fs.syncDir(nodePath.dirname(dir));
}

/**
 * A single node starting on dirs a sharded run used: every partition comes back to `nodeId` (next leader epoch) and
 * the shards' root files merge into the plain ones. Does nothing on dirs only a single node has used.
 */
export async function takeBackFromShards(fs: FileSystem, dirs: readonly string[], store: LocalMetadataStore, nodeId: number): Promise<void> {
  await normalizePlacement(store, () => nodeId);
  for (const dir of dirs) {
    if (!hasShardRootFiles(fs, dir)) continue;
    consolidateRootFiles(fs, dir, { checkpoints: ROOT_CHECKPOINTS, marker: ROOT_MARKER, suffixes: [""], suffixOf: (tp) => (store.topic(tp.topic) === undefined ? null : "") });
  }
}
