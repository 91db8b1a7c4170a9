/**
 * Interop with independent implementations from Python: kafka-python's `kafka.codec` (what a Python Kafka
 * client writes and reads), python-lz4 (the reference liblz4 frame API, with every frame option), python-snappy
 * (libsnappy) and python-zstandard (libzstd). Vectors are generated at test time; Python decodes what we encode.
 * Skips with a message when /usr/bin/python3 or the modules are missing
 * (Debian: apt-get install python3-kafka python3-lz4 python3-snappy python3-zstandard).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { codecByName, initCompression } from "../../src/compression/index.ts";
import { jsonRecords, randomBytes, repeatedBytes, sameBytes } from "./sample-payloads.ts";

await initCompression();

const PYTHON = "/usr/bin/python3";

/** Python side: `encode DIR` writes py-<variant>-<i>.bin per payload-<i>.bin; `decode DIR` checks ours-*.bin. */
const PY_SCRIPT = String.raw`
import gzip, json, os, sys
import kafka.codec as kc
import lz4.frame as lz4f
import snappy, zstandard

mode, d = sys.argv[1], sys.argv[2]
payloads = {}
for name in os.listdir(d):
    if name.startswith("payload-"):
        payloads[name[len("payload-"):-len(".bin")]] = open(os.path.join(d, name), "rb").read()

def zstd_streamed(p):
    # Streaming compressor: no content size in the header, several blocks, as Java/librdkafka write.
    c = zstandard.ZstdCompressor(level=3, write_content_size=False).compressobj()
    out = [c.compress(p[i:i + 100000]) for i in range(0, len(p), 100000)]
    out.append(c.flush())
    return b"".join(out)

if mode == "encode":
    for i, p in payloads.items():
        h = len(p) // 2
        variants = {
            "gzip-kafka": kc.gzip_encode(p),
            "gzip-two-members": gzip.compress(p[:h], 1) + gzip.compress(p[h:], 1),
            "snappy-kafka-xerial": kc.snappy_encode(p),
            "snappy-xerial-64k-blocks": kc.snappy_encode(p, xerial_blocksize=64 * 1024),
            "snappy-raw": kc.snappy_encode(p, xerial_compatible=False),
            "lz4-kafka": kc.lz4_encode(p),
            "lz4-64k-independent-no-size": lz4f.compress(p, block_size=lz4f.BLOCKSIZE_MAX64KB, block_linked=False, store_size=False),
            "lz4-4m-content-checksum": lz4f.compress(p, block_size=lz4f.BLOCKSIZE_MAX4MB, block_linked=False, content_checksum=True, store_size=False),
            "lz4-256k-linked-block-checksum": lz4f.compress(p, block_size=lz4f.BLOCKSIZE_MAX256KB, block_linked=True, block_checksum=True),
            "lz4-1m-hc-all-checksums": lz4f.compress(p, block_size=lz4f.BLOCKSIZE_MAX1MB, compression_level=lz4f.COMPRESSIONLEVEL_MAX, block_linked=False, block_checksum=True, content_checksum=True),
            "zstd-kafka": kc.zstd_encode(p),
            "zstd-no-size-checksum": zstandard.ZstdCompressor(level=7, write_content_size=False, write_checksum=True).compress(p),
            "zstd-streamed": zstd_streamed(p),
            "zstd-two-frames": zstandard.ZstdCompressor().compress(p[:h]) + zstandard.ZstdCompressor().compress(p[h:]),
        }
        for v, data in variants.items():
            with open(os.path.join(d, "py-%s-%s.bin" % (v, i)), "wb") as f:
                f.write(data)
elif mode == "decode":
    decoders = {
        "gzip": [("kafka.codec", kc.gzip_decode), ("gzip", gzip.decompress)],
        "snappy": [("kafka.codec", kc.snappy_decode)],
        "lz4": [("kafka.codec", kc.lz4_decode), ("lz4.frame", lz4f.decompress)],
        "zstd": [("kafka.codec", kc.zstd_decode), ("zstandard", lambda b: zstandard.ZstdDecompressor().decompress(b))],
    }
    results = {}
    for name in sorted(os.listdir(d)):
        if not name.startswith("ours-"):
            continue
        codec, i = name[len("ours-"):-len(".bin")].split("-", 1)
        data = open(os.path.join(d, name), "rb").read()
        for label, fn in decoders[codec]:
            try:
                results[name + " via " + label] = "ok" if fn(data) == payloads[i] else "mismatch"
            except Exception as e:
                results[name + " via " + label] = "error: %r" % (e,)
    print(json.dumps(results))
`;

/** Why the Python tests cannot run here, or null when they can. */
function pythonUnavailable(): string | null {
  try {
    const r = spawnSync(PYTHON, ["-c", "import kafka.codec, lz4.frame, snappy, zstandard"], { encoding: "utf8" });
    if (r.error !== undefined) return `${PYTHON} not runnable: ${r.error.message}`;
    if (r.status !== 0) return `python modules missing: ${r.stderr.trim().split("\n").pop()}`;
    return null;
  } catch (err) {
    return `cannot spawn ${PYTHON}: ${(err as Error).message}`;
  }
}

const skip = pythonUnavailable();
if (skip !== null) console.log(`python interop tests skipped: ${skip}`);

const PAYLOADS: Record<string, Uint8Array> = {
  empty: new Uint8Array(0),
  byte: new Uint8Array([0xfe]),
  random: randomBytes(70_000, 11),
  json: jsonRecords(300_000, 12),
  big: new Uint8Array([...repeatedBytes(1_000_000, "0123456789"), ...jsonRecords(4_300_000, 13)]),
};

/** Runs the Python script in `mode` on `dir`; returns stdout. */
function runPython(mode: string, dir: string): string {
  const r = spawnSync(PYTHON, ["-c", PY_SCRIPT, mode, dir], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  assert.equal(r.status, 0, `python ${mode} failed: ${r.stderr}`);
  return r.stdout;
}

/** A fresh directory holding payload-<name>.bin for every payload. */
function payloadDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "runnel-py-interop-"));
  for (const [name, bytes] of Object.entries(PAYLOADS)) writeFileSync(join(dir, `payload-${name}.bin`), bytes);
  return dir;
}

test("we decode every gzip/snappy/lz4/zstd variant Python writes", { skip: skip ?? false }, () => {
  const dir = payloadDir();
  try {
    runPython("encode", dir);
    const files = readdirSync(dir).filter((f) => f.startsWith("py-"));
    assert.equal(files.length, 14 * Object.keys(PAYLOADS).length);
    for (const file of files) {
      const m = /^py-(gzip|snappy|lz4|zstd)-(.+)-([a-z]+)\.bin$/.exec(file);
      assert.ok(m !== null, file);
      const codec = codecByName(m[1]);
      assert.ok(codec !== null);
      const expected = PAYLOADS[m[3]];
      const back = codec.decompress(readFileSync(join(dir, file)), expected.length);
      assert.ok(sameBytes(back, expected), `${file}: decoded ${back.length} bytes, expected ${expected.length}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Python (kafka-python, liblz4, libsnappy, libzstd) decodes what we write", { skip: skip ?? false }, () => {
  const dir = payloadDir();
  try {
    for (const name of ["gzip", "snappy", "lz4", "zstd"]) {
      const codec = codecByName(name);
      assert.ok(codec !== null);
      for (const [label, bytes] of Object.entries(PAYLOADS)) {
        writeFileSync(join(dir, `ours-${name}-${label}.bin`), codec.compress(bytes));
      }
    }
    const results = JSON.parse(runPython("decode", dir)) as Record<string, string>;
    assert.equal(Object.keys(results).length, 7 * Object.keys(PAYLOADS).length);
    const failures = Object.entries(results).filter(([, v]) => v !== "ok");
    assert.deepEqual(failures, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
