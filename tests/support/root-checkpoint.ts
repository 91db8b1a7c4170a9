/**
 * Reads a checkpoint file Kafka keeps at a log dir's root for all its partitions (`cleaner-offset-checkpoint`,
 * `recovery-point-offset-checkpoint`, ...): a single broker's plain file, or on a sharded node the owning shard's
 * (`NAME.shard_K`, docs/sharding.md), so that a test reads the same entry either way.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The offset `name` in log dir `dir` records for `topic`-`partition`, or -1 when no file has it yet. */
export function rootCheckpointOffset(dir: string, name: string, topic: string, partition: number): bigint {
  for (const file of fs.readdirSync(dir).filter((n) => n === name || n.startsWith(`${name}.shard_`))) {
    const line = fs.readFileSync(path.join(dir, file), "utf8").split("\n").find((l) => l.startsWith(`${topic} ${partition} `));
    if (line !== undefined) return BigInt(line.split(" ")[2]);
  }
  return -1n;
}
