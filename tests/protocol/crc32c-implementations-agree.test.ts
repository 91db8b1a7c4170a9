/**
 * Every CRC-32C implementation gives the reference's answer: each native Node-API addon (aws-crt, @node-rs/crc32:
 * those the runtime loads), the WASM fallback, the TypeScript slicing-by-8 candidate of bench/crc32c.ts, and `crc32c` itself, on random
 * bytes of random lengths read at unaligned offsets, and on the RFC 3720 check value.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { BULK_CRC32C_LOAD_AFTER_BYTES, crc32c, crc32cWasm, initCrc32c, nativeCrc32c, nativeCrc32cImplementations } from "../../src/protocol/crc32c.ts";
import { crc32cSliced } from "../../bench/crc32c-sliced.ts";

/** Bit-at-a-time CRC-32C straight from the definition (reflected polynomial 0x82f63b78). */
function reference(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of data) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Whether this runtime can load aws-crt's CRC-32C (Bun on linux-x64 with glibc). */
function awsCrtLoadsHere(): boolean {
  const g = globalThis as { Bun?: unknown; process?: { platform?: string; arch?: string; report?: { getReport?(): { header?: { glibcVersionRuntime?: string } } } } };
  const glibc = g.process?.report?.getReport?.()?.header?.glibcVersionRuntime !== undefined;
  return g.Bun !== undefined && g.process?.platform === "linux" && g.process.arch === "x64" && glibc;
}

test("a lazy bulk init switches to aws-crt once BULK_CRC32C_LOAD_AFTER_BYTES have been checksummed, with the same answers", async () => {
  if (!awsCrtLoadsHere()) {
    console.log("SKIPPED: aws-crt's CRC-32C is loaded only by Bun on linux-x64 with glibc");
    return;
  }
  await initCrc32c("lazy");
  const block = new Uint8Array(1024 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31) >>> 3;
  const before = crc32c(block);
  // Already switched when another test file of this process went first; otherwise the switch waits for the bytes.
  const switched = () => /aws-crt/.test(nativeCrc32cImplementations()[0]?.name ?? "");
  if (!switched()) {
    assert.equal(nativeCrc32cImplementations().some((n) => /aws-crt/.test(n.name)), false, "nothing loaded before the bytes");
    for (let done = block.length; done < BULK_CRC32C_LOAD_AFTER_BYTES; done += block.length) crc32c(block);
    const deadline = Date.now() + 30_000;
    while (!switched() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(switched(), "aws-crt is the first implementation after the bulk bytes");
  assert.equal(crc32c(block), before);
});

test("each native, WASM, slicing-by-8 and crc32c agree with the reference on random unaligned inputs", async () => {
  await initCrc32c("now");
  const native = nativeCrc32c();
  if (native === null) console.log("native CRC-32C not loaded on this runtime: checking WASM and TypeScript only");
  const impls: [string, (b: Uint8Array) => number][] = [
    ["wasm", crc32cWasm],
    ["sliced", (b) => crc32cSliced(b)],
    ["crc32c", crc32c],
  ];
  for (const n of nativeCrc32cImplementations()) impls.push([n.name, n.crc]);
  // Large inputs too: the fast native paths switch to interleaved streams past a few KiB.
  if (native !== null) {
    const big = new Uint8Array(3 * 1024 * 1024 + 5);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    const shared = new Uint8Array(new SharedArrayBuffer(big.length)); // pooled frame buffers may be shared memory
    shared.set(big);
    const want = reference(big.subarray(3));
    for (const [name, f] of impls) {
      assert.equal(f(big.subarray(3)), want, `${name} on 3 MiB`);
      assert.equal(f(shared.subarray(3)), want, `${name} on 3 MiB of shared memory`);
    }
  }
  const check = new TextEncoder().encode("123456789");
  for (const [name, f] of impls) assert.equal(f(check), 0xe3069283, `${name}: RFC 3720 check value`);
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 5000 }), fc.nat({ max: 15 }), fc.nat({ max: 15 }), (bytes, head, tail) => {
      const from = Math.min(head, bytes.length);
      const to = Math.max(from, bytes.length - tail);
      const view = bytes.subarray(from, to); // unaligned start and end inside a larger buffer
      const want = reference(view);
      for (const [name, f] of impls) assert.equal(f(view), want, `${name} on ${view.length} bytes at offset ${from}`);
    }),
    { numRuns: 300 },
  );
  if (native !== null) assert.equal(crc32c(check), native(check), "crc32c uses the native implementation when it loads");
});

test("a bulk init now on Bun on linux-x64 (glibc) uses the fastest addon, aws-crt", async () => {
  if (!awsCrtLoadsHere()) {
    console.log("SKIPPED: aws-crt's CRC-32C is loaded only by Bun on linux-x64 with glibc");
    return;
  }
  await initCrc32c("now");
  const first = nativeCrc32cImplementations()[0];
  assert.match(first?.name ?? "none", /aws-crt/);
  const check = new TextEncoder().encode("123456789");
  assert.equal(crc32c(check), first.crc(check));
});
