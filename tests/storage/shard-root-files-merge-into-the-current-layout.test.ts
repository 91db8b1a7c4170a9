/**
 * The log-dir root files of a node whose shard count changed (src/storage/log-dir-share.ts): every variant (plain
 * and `.shard_K`) is merged and rewritten with each partition in its new owner's file, the others removed; when
 * two variants name one partition the lower offset wins; the new files are marked clean only when every variant
 * had its clean-shutdown marker.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { readOffsetCheckpoint, writeOffsetCheckpoint } from "../../src/storage/checkpoint.ts";
import { consolidateRootFiles, shardFileSuffix } from "../../src/storage/log-dir-share.ts";

const RP = "recovery-point-offset-checkpoint";
const MARK = ".kafka_cleanshutdown";

function layout(count: number, ownerOf: (partition: number) => number | null) {
  const suffixes = Array.from({ length: count }, (_, k) => shardFileSuffix(k));
  return { checkpoints: [RP], marker: MARK, suffixes, suffixOf: (tp: { partition: number }) => { const o = ownerOf(tp.partition); return o === null ? null : shardFileSuffix(o); } };
}

test("variants merge into the new owners' files, lower offset wins, clean only if all were", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-rootfiles-"));
  try {
    const write = (suffix: string, entries: [number, bigint][]) => writeOffsetCheckpoint(nodeFileSystem, `${dir}/${RP}${suffix}`, entries.map(([partition, offset]) => ({ topic: "t", partition, offset })));
    write(".shard_0", [[0, 100n], [2, 300n]]);
    write(".shard_1", [[1, 200n], [3, 400n], [2, 250n]]); // partition 2 in two variants: 250 wins
    write("", [[4, 50n]]); // from a single-broker run before
    for (const s of [".shard_0", ".shard_1", ""]) fs.writeFileSync(`${dir}/${MARK}${s}`, "{}\n");
    fs.mkdirSync(`${dir}/t-0`); // a partition dir stays untouched

    // Three shards now: partition p on shard p % 3.
    consolidateRootFiles(nodeFileSystem, dir, layout(3, (p) => p % 3));
    const read = (k: number) => readOffsetCheckpoint(nodeFileSystem, `${dir}/${RP}${shardFileSuffix(k)}`).map((e) => [e.partition, e.offset]);
    assert.deepEqual(read(0), [[0, 100n], [3, 400n]]);
    assert.deepEqual(read(1), [[1, 200n], [4, 50n]]);
    assert.deepEqual(read(2), [[2, 250n]]);
    assert.ok(!fs.existsSync(`${dir}/${RP}`), "the plain variant is merged away");
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith(MARK)).sort(), [`${MARK}.shard_0`, `${MARK}.shard_1`, `${MARK}.shard_2`]);
    assert.ok(fs.existsSync(`${dir}/t-0`));

    // Shard 2 crashed (no marker): going back to one broker keeps every entry but marks nothing clean; a dropped
    // topic's entries go.
    fs.rmSync(`${dir}/${MARK}.shard_2`);
    consolidateRootFiles(nodeFileSystem, dir, { checkpoints: [RP], marker: MARK, suffixes: [""], suffixOf: (tp) => (tp.partition === 4 ? null : "") });
    assert.deepEqual(readOffsetCheckpoint(nodeFileSystem, `${dir}/${RP}`).map((e) => [e.partition, e.offset]), [[0, 100n], [1, 200n], [2, 250n], [3, 400n]]);
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith(MARK) || n.includes(".shard_")), [], "no marker, no shard file left");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
