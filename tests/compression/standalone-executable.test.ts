/**
 * The codecs work inside a `bun build --compile` single executable run from an empty directory, with no
 * node_modules or .wasm files beside it: all WASM is embedded in the bundle (src/compression/wasm/).
 * Skips with a message when the bun binary is not at node_modules/.bin/bun.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const BUN = fileURLToPath(new URL("../../node_modules/.bin/bun", import.meta.url));
const FIXTURE = fileURLToPath(new URL("./fixtures/standalone-round-trip.ts", import.meta.url));
const skip = existsSync(BUN) ? false : `bun not found at ${BUN}`;
if (skip !== false) console.log(`standalone executable test skipped: ${skip}`);

test("codecs round-trip inside a bun --compile executable run from an empty directory", { skip, timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "runnel-compile-"));
  try {
    const exe = join(dir, "build", "compression-check");
    const build = spawnSync(BUN, ["build", "--compile", "--outfile", exe, FIXTURE], { encoding: "utf8" });
    assert.equal(build.status, 0, `bun build failed: ${build.stderr}`);
    const empty = join(dir, "run");
    mkdirSync(empty);
    const run = spawnSync(exe, [], { cwd: empty, encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
    assert.equal(run.status, 0, `executable failed: ${run.stderr}`);
    const results = JSON.parse(run.stdout.trim().split("\n").pop() ?? "{}");
    assert.deepEqual(results, { gzip: "ok", snappy: "ok", lz4: "ok", zstd: "ok" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
