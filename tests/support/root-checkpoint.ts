/**
 * Reads a checkpoint file Kafka keeps at a log dir's root for all its partitions (`cleaner-offset-checkpoint`,
 * `recovery-point-offset-checkpoint`, ...): a single broker's plain file, or on a sharded node the owning shard's
 * (`NAME.shard_K`, docs/sharding.md), so that a test reads the same entry either way.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The offset `name` in log dir `dir` records for `topic`-`partition`, or -1 when no file has it yet. Only the files
 * themselves are read, never a `NAME.shard_K.async.tmp` being written: a writer renames that over the file, so what
 * it holds is not yet in the file (a test that saw an entry there and then counted the files' entries found one
 * fewer, in CI's 2-shard pass).
 */
export function rootCheckpointOffset(dir: string, name: string, topic: string, partition: number): bigint {
  const shardFile = new RegExp(`^${name.replace(/[.]/g, "\\.")}\\.shard_\\d+$`);
  for (const file of fs.readdirSync(dir).filter((n) => n === name || shardFile.test(n))) {
    const line = fs.readFileSync(path.join(dir, file), "utf8").split("\n").find((l) => l.startsWith(`${topic} ${partition} `));
    if (line !== undefined) return BigInt(line.split(" ")[2]);
  }
  return -1n;
}
