/**
 * The tests' one segment-file batch walker (tests/support/segment-batches.ts) reads each batch's base offset,
 * length, magic, codec and record count, and stops at the end of the batches: at a zero tail (zeros written ahead
 * of an active segment's end), at a partial batch, and at a file end; it throws where it would lose its place.
 * `partitionLogBytes` gives a missing partition directory as no bytes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { BatchBuilder } from "../../src/protocol/record-batch.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { CODEC_IDS, batchCodecs, logFileBatchBytes, partitionLogBytes, segmentBatches } from "./segment-batches.ts";

await initCrc32c();

/** A batch at `baseOffset` of `count` records, gzip-compressed when `gzip`. */
function batch(baseOffset: bigint, count: number, gzip: boolean): Uint8Array {
  const bb = new BatchBuilder(1 << 14);
  bb.reset({ baseOffset });
  for (let i = 0; i < count; i++) bb.append(1_700_000_000_000 + i, null, new TextEncoder().encode(`value-${i}`));
  return bb.finish(gzip ? { codecId: CODEC_IDS.gzip, compress: (s) => zlib.gzipSync(s) } : undefined);
}

const batches = [batch(0n, 3, false), batch(3n, 5, true), batch(8n, 1, false)];
const whole = Buffer.concat(batches);

test("reads every batch's offset, length, magic, codec and record count, and stops at a zero tail", () => {
  const found = segmentBatches(Buffer.concat([whole, Buffer.alloc(4096)]));
  assert.deepEqual(
    found.map((b) => [b.position, b.baseOffset, b.length + 12, b.magic, b.codec, b.lastOffsetDelta, b.records]),
    [
      [0, 0n, batches[0].length, 2, CODEC_IDS.none, 2, 3],
      [batches[0].length, 3n, batches[1].length, 2, CODEC_IDS.gzip, 4, 5],
      [batches[0].length + batches[1].length, 8n, batches[2].length, 2, CODEC_IDS.none, 0, 1],
    ],
  );
  assert.equal(segmentBatches(whole).length, 3, "the file's end");
  assert.equal(segmentBatches(Buffer.concat([whole, Buffer.alloc(20)])).length, 3, "a zero tail shorter than a batch header");
});

test("stops before a partial batch and throws where a batch cannot start", () => {
  assert.equal(segmentBatches(whole.subarray(0, whole.length - 1)).length, 2, "the last batch cut by one byte");
  const tooShort = Buffer.concat([whole, Buffer.alloc(61)]);
  tooShort.writeInt32BE(20, whole.length + 8);
  assert.throws(() => segmentBatches(tooShort), /shorter than a batch header/);
  const oldMagic = Buffer.from(whole);
  oldMagic[batches[0].length + 16] = 1;
  assert.throws(() => segmentBatches(oldMagic), /magic 1 at byte/);
});

test("file helpers: bytes up to the batches' end, codecs, a partition's segments and a missing partition", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-segment-batches-"));
  try {
    fs.mkdirSync(path.join(dir, "t-0"));
    const first = path.join(dir, "t-0", "00000000000000000000.log");
    fs.writeFileSync(first, Buffer.concat([batches[0], batches[1]]));
    const active = path.join(dir, "t-0", "00000000000000000008.log");
    fs.writeFileSync(active, Buffer.concat([batches[2], Buffer.alloc(8192)]));
    assert.deepEqual(batchCodecs(first), [CODEC_IDS.none, CODEC_IDS.gzip]);
    assert.deepEqual(batchCodecs(active), [CODEC_IDS.none], "the zero tail is not counted as batches");
    assert.ok(logFileBatchBytes(active).equals(batches[2]));
    assert.ok(partitionLogBytes(dir, "t", 0).equals(whole));
    assert.equal(partitionLogBytes(dir, "t", 1).length, 0, "no directory for the partition: no bytes");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
