/**
 * A broker's CRC-32C (initCrc32c("lazy")) loads no native addon until BULK_CRC32C_LOAD_AFTER_BYTES have been
 * checksummed: an idle broker holds neither @node-rs/crc32 nor aws-crt (bench row "idle RSS"), WASM answers
 * meanwhile, and after the bytes the addons serve with the same answers. A later plain initCrc32c() (as the log
 * manager calls it) does not load them early. Runs in a child process: the module's state is per process.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const CRC_MODULE = path.resolve(import.meta.dirname!, "..", "..", "src", "protocol", "crc32c.ts");

const CHILD = `
import { BULK_CRC32C_LOAD_AFTER_BYTES, crc32c, crc32cWasm, initCrc32c, nativeCrc32cImplementations } from ${JSON.stringify(CRC_MODULE)};
const names = () => nativeCrc32cImplementations().map((n) => n.name);
await initCrc32c("lazy");
await initCrc32c();
const before = names();
const block = new Uint8Array(1024 * 1024);
for (let i = 0; i < block.length; i++) block[i] = (i * 31) >>> 3;
const wasm = crc32cWasm(block);
const first = crc32c(block);
for (let done = block.length; done < BULK_CRC32C_LOAD_AFTER_BYTES; done += block.length) crc32c(block);
const deadline = Date.now() + 60_000;
while (nativeCrc32cImplementations().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
await new Promise((r) => setTimeout(r, 0));
console.log(JSON.stringify({ before, after: names(), same: first === wasm && crc32c(block) === wasm }));
`;

test("a lazy CRC-32C init loads no native addon until the bulk bytes, then serves the same answers natively", { timeout: 120_000 }, () => {
  if ((globalThis as { Bun?: unknown }).Bun === undefined) {
    console.log("SKIPPED: the addons load under Bun (Deno loads them only with FFI allowed)");
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-crc-lazy-"));
  try {
    const script = path.join(dir, "child.ts");
    fs.writeFileSync(script, CHILD);
    const r = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 110_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { before: string[]; after: string[]; same: boolean };
    assert.deepEqual(out.before, [], "no addon loaded before the bulk bytes");
    assert.ok(out.after.some((n) => n.includes("@node-rs/crc32")), `addons after the bytes: ${out.after.join(", ")}`);
    assert.ok(out.same, "WASM before and native after give the same CRC");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
