/**
 * The committed files in src/protocol/generated/ must be exactly what the generator produces from the Kafka
 * schemas in ../shared/kafka-protocol/message (relative to the repository root).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generate } from "../../src/protocol/codegen/generate.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const schemaDir = join(repoRoot, "../shared/kafka-protocol/message");
const outDir = join(repoRoot, "src/protocol/generated");
const skip = existsSync(schemaDir) ? false : `schema directory ${schemaDir} not found`;

test("generated codecs match the Kafka schemas", { skip }, () => {
  const files = generate(schemaDir);
  const committed = readdirSync(outDir).filter((f) => f.endsWith(".ts")).sort();
  assert.deepStrictEqual(committed, [...files.keys()], "generated file set differs; run src/protocol/codegen/generate.ts");
  for (const [name, text] of files) {
    assert.ok(text === readFileSync(join(outDir, name), "utf8"), `${name} is stale; run src/protocol/codegen/generate.ts`);
  }
});

test("generation is deterministic", { skip }, () => {
  const a = generate(schemaDir);
  const b = generate(schemaDir);
  assert.deepStrictEqual([...a.entries()], [...b.entries()]);
});
