/**
 * `runnel start` of a single node (one shard, no etcd endpoints, no http.listeners) loads neither the shard host
 * and front, nor the etcd control plane, nor the HTTP server and console: their modules are imported dynamically
 * where they are used, so they cost a plain broker no start-up time and no resident memory (bench rows "start to
 * ready listener" and "idle RSS"). Checked on the static import graph of src/cli/start.ts: every module reachable
 * through value imports (type-only imports and dynamic import() calls load nothing at start).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const SRC = path.resolve(import.meta.dirname, "..", "..", "src");

/** Module specifiers of the value imports and re-exports of one module's source (relative ones only). */
function staticImports(source: string): string[] {
  const out: string[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s+"(\.[^"]+)"|^\s*import\s+"(\.[^"]+)"/gm;
  for (const m of source.matchAll(statement)) {
    if (m[5] !== undefined) {
      out.push(m[5]);
      continue;
    }
    if (m[2] !== undefined) continue;
    const names = m[3].trim();
    // `import { type A, type B } from` loads nothing either.
    if (/^\{[^}]*\}$/.test(names) && names.slice(1, -1).split(",").every((n) => n.trim() === "" || n.trim().startsWith("type "))) continue;
    out.push(m[4]);
  }
  return out;
}

/** Every module (path relative to src/) loaded by importing `entry`. */
function loadedAtStart(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    const rel = path.relative(SRC, file);
    if (seen.has(rel)) return;
    seen.add(rel);
    for (const spec of staticImports(fs.readFileSync(file, "utf8"))) visit(path.resolve(path.dirname(file), spec));
  };
  visit(path.join(SRC, entry));
  return seen;
}

test("runnel start of a single node loads no shard, etcd control-plane or HTTP-server module", () => {
  const loaded = loadedAtStart("cli/start.ts");
  assert.ok(loaded.has("broker/broker.ts") && loaded.has("http/start-with-http.ts"), "the walk follows value imports");
  const optional = [...loaded].filter(
    (m) => m.startsWith("shard/") || m === "cluster/control-plane.ts" || m.startsWith("cluster/etcd-") || m === "http/http-server.ts" || m === "http/http-side.ts" || m.startsWith("http/api/") || m === "http/console-bundle.generated.ts",
  );
  assert.deepEqual(optional, [], "optional subsystems reached by static imports from src/cli/start.ts");
});
