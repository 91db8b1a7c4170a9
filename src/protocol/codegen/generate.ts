/**
 * Kafka protocol code generator. Reads Apache Kafka's JSON message schemas and writes TypeScript codecs to
 * `src/protocol/generated/`: one file per broker API (request + response), `headers.ts`, `data_*.ts`,
 * `index.ts` (registry) and `schema.ts` (machine-readable description). Output is deterministic.
 *
 * Usage: `bun src/protocol/codegen/generate.ts [schemaDir] [outDir]`
 * (defaults: `../shared/kafka-protocol/message` relative to the repo root, and `src/protocol/generated`).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { emitCodecFile, GENERATED_HEADER } from "./emit-codec.ts";
import { type ApiPair, emitRegistry } from "./emit-registry.ts";
import { emitSchema } from "./emit-schema.ts";
import { loadSchemaDir, type MessageModel } from "./schema-model.ts";

/** Repository root (three levels above this file). */
export const REPO_ROOT: string = fileURLToPath(new URL("../../../", import.meta.url));

/** Default schema directory: `../shared/kafka-protocol/message` relative to the repository root. */
export const DEFAULT_SCHEMA_DIR: string = resolve(REPO_ROOT, "../shared/kafka-protocol/message");

/** Default output directory. */
export const DEFAULT_OUT_DIR: string = resolve(REPO_ROOT, "src/protocol/generated");

/** snake_case of a PascalCase name ("DescribeTopicPartitions" -> "describe_topic_partitions"). */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();
}

/** Generates every output file from the schemas in `schemaDir`: file name -> contents, sorted by name. */
export function generate(schemaDir: string): Map<string, string> {
  const messages = loadSchemaDir(schemaDir);
  const byName = new Map(messages.map((m) => [m.name, m]));
  const files = new Map<string, string>();
  const schemaOrder: MessageModel[] = [];

  const headers = ["RequestHeader", "ResponseHeader"].map((n) => {
    const m = byName.get(n);
    if (m === undefined || m.kind !== "header") throw new Error(`missing header schema ${n}`);
    return m;
  });
  files.set("headers.ts", emitCodecFile(headers, "Kafka request and response headers."));
  schemaOrder.push(...headers);

  const apis: ApiPair[] = [];
  for (const req of messages) {
    if (req.kind !== "request" || !req.listeners.includes("broker") || req.valid === null) continue;
    const name = req.name.replace(/Request$/, "");
    const res = byName.get(`${name}Response`);
    if (res === undefined || res.kind !== "response") throw new Error(`missing ${name}Response`);
    if (res.apiKey !== req.apiKey) throw new Error(`${name}: request/response API keys differ`);
    if (req.apiKey < 0 || req.apiKey > 99) throw new Error(`${name}: API key ${req.apiKey} out of range`);
    const file = `${String(req.apiKey).padStart(2, "0")}_${snakeCase(name)}.ts`;
    apis.push({ name, request: req, response: res, file });
  }
  apis.sort((a, b) => a.request.apiKey - b.request.apiKey);
  for (let i = 1; i < apis.length; i++) {
    if (apis[i].request.apiKey === apis[i - 1].request.apiKey) throw new Error(`duplicate API key in ${apis[i].name}`);
  }
  for (const a of apis) {
    const desc = `Kafka API ${a.request.apiKey} ${a.name}: ${a.request.name} and ${a.response.name}.`;
    files.set(a.file, emitCodecFile([a.request, a.response], desc));
    schemaOrder.push(a.request, a.response);
  }

  const dataFiles: string[] = [];
  for (const m of messages) {
    if (m.kind !== "data" || m.valid === null) continue;
    const file = `data_${snakeCase(m.name)}.ts`;
    const desc = `Kafka data schema ${m.name} (no version prefix: callers write/read the int16 version).`;
    files.set(file, emitCodecFile([m], desc));
    dataFiles.push(file);
    schemaOrder.push(m);
  }

  files.set("index.ts", emitRegistry(apis, ["headers.ts", ...dataFiles]));
  files.set("schema.ts", emitSchema(schemaOrder));
  checkUniqueExports(files);
  return new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Asserts no two generated files export the same name (index.ts re-exports them all). */
function checkUniqueExports(files: Map<string, string>): void {
  const seen = new Map<string, string>();
  for (const [file, text] of files) {
    if (file === "index.ts" || file === "schema.ts") continue;
    for (const m of text.matchAll(/^export (?:interface|function|const|class|type) ([A-Za-z0-9_]+)/gm)) {
      const prev = seen.get(m[1]);
      if (prev !== undefined) throw new Error(`export ${m[1]} in both ${prev} and ${file}`);
      seen.set(m[1], file);
    }
  }
}

/** Writes `files` into `outDir`, removing previously generated files that are no longer produced. */
export function writeGenerated(files: Map<string, string>, outDir: string): void {
  mkdirSync(outDir, { recursive: true });
  for (const f of readdirSync(outDir)) {
    if (!f.endsWith(".ts") || files.has(f)) continue;
    const text = readFileSync(join(outDir, f), "utf8");
    if (text.startsWith(GENERATED_HEADER)) rmSync(join(outDir, f));
  }
  for (const [name, text] of files) {
    const path = join(outDir, name);
    if (existsSync(path) && readFileSync(path, "utf8") === text) continue;
    writeFileSync(path, text);
  }
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const schemaDir = args[0] !== undefined ? resolve(args[0]) : DEFAULT_SCHEMA_DIR;
  const outDir = args[1] !== undefined ? resolve(args[1]) : DEFAULT_OUT_DIR;
  const files = generate(schemaDir);
  writeGenerated(files, outDir);
  console.log(`generated ${files.size} files in ${outDir}`);
}
