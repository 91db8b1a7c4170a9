/**
 * Interop with the reference `lz4` and `zstd` command-line tools (liblz4 / libzstd): they read the frames we
 * write, and we read the frames they write with every frame option they offer, including zstd frames without
 * a content size (as streaming writers produce). Each tool's tests skip with a message when it is not installed
 * (Debian: apt-get install lz4 zstd).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CorruptCompressedDataError,
  DecompressionLimitError,
  initCompression,
  lz4Codec,
  zstdCodec,
} from "../../src/compression/index.ts";
import { jsonRecords, randomBytes, repeatedBytes, sameBytes } from "./sample-payloads.ts";

await initCompression();

/** Longest a single tool run may take. */
const TOOL_TIMEOUT_MS = 60_000;

/** Why `tool` cannot run, or null if it can. */
function toolMissing(tool: string): string | null {
  try {
    const r = spawnSync(tool, ["--version"], { encoding: "utf8" });
    if (r.error !== undefined) return `${tool} not installed (${r.error.message})`;
    return r.status === 0 ? null : `${tool} --version exited ${r.status}`;
  } catch (err) {
    return `cannot spawn ${tool}: ${(err as Error).message}`;
  }
}

/**
 * Runs `tool` with `input` in a file and returns what it wrote to its output file. `args(inPath, outPath)`
 * builds the command line. Files, not pipes: Deno's spawnSync deadlocks when stdin is larger than a pipe buffer.
 */
function run(tool: string, args: (inPath: string, outPath: string) => string[], input: Uint8Array): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), `runnel-${tool}-`));
  try {
    const inPath = join(dir, "in");
    const outPath = join(dir, "out");
    writeFileSync(inPath, input);
    const argv = args(inPath, outPath);
    const r = spawnSync(tool, argv, { encoding: "utf8", timeout: TOOL_TIMEOUT_MS });
    assert.equal(r.status, 0, `${tool} ${argv.join(" ")} failed: ${r.stderr}`);
    const out = readFileSync(outPath);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** lz4 command line compressing with extra `opts`. */
const lz4Compress = (opts: string[]) => (i: string, o: string) => ["-q", "-f", ...opts, i, o];
/** lz4 command line decompressing. */
const lz4Decompress = (i: string, o: string) => ["-q", "-f", "-d", i, o];
/** zstd command line compressing with extra `opts`. */
const zstdCompress = (opts: string[]) => (i: string, o: string) => ["-q", "-f", ...opts, i, "-o", o];
/** zstd command line decompressing. */
const zstdDecompress = (i: string, o: string) => ["-q", "-f", "-d", i, "-o", o];

const lz4Skip = toolMissing("lz4");
const zstdSkip = toolMissing("zstd");
if (lz4Skip !== null) console.log(`lz4 CLI tests skipped: ${lz4Skip}`);
if (zstdSkip !== null) console.log(`zstd CLI tests skipped: ${zstdSkip}`);

const PAYLOADS: [string, Uint8Array][] = [
  ["empty", new Uint8Array(0)],
  ["1 byte", new Uint8Array([1])],
  ["random 200 KB", randomBytes(200_000, 31)],
  ["json 5 MB", jsonRecords(5_000_000, 32)],
];

test("the lz4 CLI decodes our frames", { skip: lz4Skip ?? false }, () => {
  for (const [label, payload] of PAYLOADS) {
    const out = run("lz4", lz4Decompress, lz4Codec.compress(payload));
    assert.ok(sameBytes(out, payload), label);
  }
});

test("we decode lz4 CLI frames with every block size, linking and checksum option", { skip: lz4Skip ?? false }, () => {
  const variants = [
    [], // defaults: 4 MiB blocks, independent, content checksum
    ["-B4", "--no-frame-crc"],
    ["-B5", "-BD", "-BX"],
    ["-B6", "--content-size", "-BX"],
    ["-B7", "-BD", "--content-size"],
    ["-12", "-B4", "-BD"],
  ];
  for (const [label, payload] of PAYLOADS) {
    for (const args of variants) {
      const frame = run("lz4", lz4Compress(args), payload);
      const back = lz4Codec.decompress(frame, payload.length);
      assert.ok(sameBytes(back, payload), `${label} with lz4 ${args.join(" ")}`);
    }
  }
});

test("the zstd CLI decodes our frames", { skip: zstdSkip ?? false }, () => {
  for (const [label, payload] of PAYLOADS) {
    const out = run("zstd", zstdDecompress, zstdCodec.compress(payload));
    assert.ok(sameBytes(out, payload), label);
  }
});

test("we decode zstd CLI frames, with and without content size and checksum", { skip: zstdSkip ?? false }, () => {
  const variants = [
    [], // from a file: content size declared, with checksum
    ["--no-content-size"], // as streaming writers (Java, librdkafka) produce
    ["--no-content-size", "--no-check"],
    ["-12", "--no-content-size"],
    ["--fast=5"],
    ["--long=24", "--no-content-size"],
  ];
  for (const [label, payload] of PAYLOADS) {
    for (const args of variants) {
      const frame = run("zstd", zstdCompress(args), payload);
      if (args.includes("--no-content-size")) {
        // Frame header descriptor: FCS flag (bits 7-6) and single-segment (bit 5) clear = no content size.
        assert.equal(frame[4] & 0xe0, 0, `zstd ${args.join(" ")} wrote a content size`);
      }
      const back = zstdCodec.decompress(frame, payload.length);
      assert.ok(sameBytes(back, payload), `${label} with zstd ${args.join(" ")}`);
    }
  }
});

test("concatenated zstd frames decode to the concatenation", { skip: zstdSkip ?? false }, () => {
  const a = jsonRecords(300_000, 33);
  const b = randomBytes(5_000, 34);
  const both = new Uint8Array([...run("zstd", zstdCompress(["--no-content-size"]), a), ...zstdCodec.compress(b)]);
  assert.ok(sameBytes(zstdCodec.decompress(both, a.length + b.length), new Uint8Array([...a, ...b])));
});

test("a zstd bomb without content size stops at the limit", { skip: zstdSkip ?? false }, () => {
  const bomb = run("zstd", zstdCompress(["--no-content-size", "-19"]), new Uint8Array(64 * 1024 * 1024));
  assert.throws(() => zstdCodec.decompress(bomb, 1024 * 1024), DecompressionLimitError);
  const justFits = run("zstd", zstdCompress(["--no-content-size"]), repeatedBytes(3_000_000, "x"));
  assert.equal(zstdCodec.decompress(justFits, 3_000_000).length, 3_000_000);
  assert.throws(() => zstdCodec.decompress(justFits, 2_999_999), DecompressionLimitError);
});

test("a zstd CLI frame with a corrupted checksum is rejected", { skip: zstdSkip ?? false }, () => {
  const payload = jsonRecords(50_000, 35);
  const frame = run("zstd", zstdCompress([]), payload);
  frame[frame.length - 1] ^= 0xff; // last byte of the xxh64-based content checksum
  assert.throws(() => zstdCodec.decompress(frame, payload.length), CorruptCompressedDataError);
});
