/**
 * Builds dist/runnel (`npm run build`): `bun build --compile --bytecode` of the CLI and the worker entry points, as
 * ES modules split into chunks, so what `runnel start` never imports (CLI commands, the HTTP side, shards, etcd) stays
 * in chunks it never loads. Then a second pass lays the bytecode out in the order a broker uses it: the first build
 * is started once (`start --port 0` on a fresh data directory, idle, stopped: ./bytecode-order.ts) with
 * BUN_BYTECODE_ORDER_OUT set, and the build is repeated with `--bytecode-order` of what that run recorded. Bun maps
 * the embedded bytecode and reads it in place, so start-up code spread over the whole section made most of its pages
 * resident (idle RSS ~3 MB above the 30fab97 build's); packed together it touches about half as many. Where the recording run fails the
 * first build is kept, with a warning: same behaviour, more memory.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { recordBytecodeOrder } from "./bytecode-order.ts";

const root = path.resolve(import.meta.dir, "../..");
const outfile = path.join(root, "dist/runnel");
const entries = ["src/cli/main.ts", "src/shard/shard-worker.ts", "src/compression/codec-worker.ts", "src/platform/native-crc32c-preload-worker.ts"];
const flags = ["--compile", "--bytecode", "--format", "esm", "--splitting", "--minify", "--sourcemap"];

/** Runs `bun build` with `extra` flags; exits the process if it fails. */
function build(extra: string[]): void {
  const r = spawnSync(process.execPath, ["build", ...flags, ...extra, "--outfile", outfile, ...entries], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

for (const f of fs.existsSync(path.dirname(outfile)) ? fs.readdirSync(path.dirname(outfile)) : []) {
  if (f.endsWith(".js.map")) fs.rmSync(path.join(path.dirname(outfile), f)); // chunk maps of earlier builds (hashed names)
}
build([]);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-build-order-"));
try {
  const order = await recordBytecodeOrder(outfile, dir, (m) => console.warn(`build-executable: ${m}`));
  if (order !== null) build([`--bytecode-order=${order}`]);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
