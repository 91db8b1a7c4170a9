/**
 * `runnel.shards` (docs/sharding.md): `runnel start --shards N` and `-o runnel.shards=N` are validated before anything
 * starts (exit 2 with the key named).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runnel } from "./run-cli.ts";
import { startConfig } from "../../src/cli/start.ts";
import { RUNNEL_SHARDS_MAX } from "../../src/broker/config.ts";

test("runnel.shards: default 1; --shards, -o and RUNNEL_SHARDS set it; out of range names the key", () => {
  assert.equal(startConfig([], {}).num("runnel.shards"), 1);
  assert.equal(startConfig(["--shards", "4"], {}).num("runnel.shards"), 4);
  assert.equal(startConfig(["-o", "runnel.shards=3"], {}).num("runnel.shards"), 3);
  assert.equal(startConfig([], { RUNNEL_SHARDS: "2" }).num("runnel.shards"), 2);
  assert.throws(() => startConfig(["--shards", "0"], {}), /runnel\.shards=0: must be 1 to 256/);
  assert.throws(() => startConfig(["--shards", String(RUNNEL_SHARDS_MAX + 1)], {}), /runnel\.shards=257: must be 1 to 256/);
  assert.throws(() => startConfig(["--shards", "two"], {}), /runnel\.shards=two: expected an integer/);
});

test("runnel start refuses bad shard counts with exit 2, before touching the data dir", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-shards-"));
  const data = path.join(dir, "data");
  try {
    const zero = await runnel(["start", "--port", "0", "--data-dir", data, "--shards", "0"]);
    assert.equal(zero.code, 2, zero.stderr);
    assert.match(zero.stderr, /runnel\.shards=0: must be 1 to 256/);
    assert.equal(fs.existsSync(data), false, "nothing written before the settings are accepted");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
