/**
 * The WASM embedded in src/compression/wasm/*-binary.ts is byte-identical to the .wasm shipped by the installed
 * npm packages (so upgrading a package without re-running embed-wasm.ts is caught), and decodes to a valid module.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { decodeEmbeddedWasm } from "../../src/compression/wasm/embedded.ts";
import { LZ4_WASM } from "../../src/compression/wasm/lz4-wasm-binary.ts";
import { ZSTD_WASM } from "../../src/compression/wasm/zstd-wasm-binary.ts";

const ROOT = new URL("../../", import.meta.url);

const EMBEDDED = [
  { name: "lz4-wasm", embedded: LZ4_WASM, installed: "node_modules/lz4-wasm/lz4_wasm_bg.wasm", pkg: "node_modules/lz4-wasm/package.json" },
  {
    name: "@bokuweb/zstd-wasm",
    embedded: ZSTD_WASM,
    installed: "node_modules/@bokuweb/zstd-wasm/dist/esm/zstd.wasm",
    pkg: "node_modules/@bokuweb/zstd-wasm/package.json",
  },
];

for (const { name, embedded, installed, pkg } of EMBEDDED) {
  test(`embedded ${name} decodes to a valid module with the recorded hash`, () => {
    const bytes = decodeEmbeddedWasm(embedded.gzipBase64, embedded.byteLength);
    assert.equal(createHash("sha256").update(bytes).digest("hex"), embedded.sha256);
    assert.ok(WebAssembly.validate(bytes));
  });

  const path = new URL(installed, ROOT);
  const missing = existsSync(path) ? false : `${installed} not installed`;
  test(`embedded ${name} matches the installed package (else run src/compression/wasm/embed-wasm.ts)`, { skip: missing }, () => {
    const version = JSON.parse(readFileSync(new URL(pkg, ROOT), "utf8")).version as string;
    assert.ok(embedded.source.startsWith(`${name}@${version}/`), `embedded ${embedded.source}, installed ${version}`);
    assert.equal(createHash("sha256").update(readFileSync(path)).digest("hex"), embedded.sha256);
  });
}
