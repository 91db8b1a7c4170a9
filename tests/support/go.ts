/**
 * Runs the Go test peer (tests/go/peer: franz-go and sarama scenarios, built into tests/go/bin/peer by
 * tests/setup.d/35-go-clients.sh) against a test broker. When a source changed since the last build, loading this
 * module rebuilds. `goSkip` says why the Go tests cannot run here.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { runProc, type ProcResult } from "./proc.ts";
import { spawnPeer, type PeerProcess } from "./json-process.ts";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const GO_DIR = path.join(ROOT, "tests", "go");
const PEER = path.join(GO_DIR, "bin", "peer");

/** Newest modification time (ms) of the Go sources and module files. */
function newestSource(): number {
  let newest = 0;
  for (const f of ["go.mod", "go.sum"]) newest = Math.max(newest, fs.statSync(path.join(GO_DIR, f)).mtimeMs);
  for (const e of fs.readdirSync(path.join(GO_DIR, "peer"), { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(".go")) newest = Math.max(newest, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/** Builds the peer when a source is newer than the binary; returns why Go tests cannot run, or false. */
function prepare(): string | false {
  const builtAt = fs.existsSync(PEER) ? fs.statSync(PEER).mtimeMs : 0;
  if (builtAt === 0 || newestSource() > builtAt) {
    const r = spawnSync("bash", [path.join(ROOT, "tests", "setup.d", "35-go-clients.sh")], { encoding: "utf8" });
    if (!fs.existsSync(PEER)) return `the Go test peer is not built:\n${r.stdout}${r.stderr}`;
  }
  return false;
}

/** Why the Go tests are skipped on this machine, or false when they can run. */
export const goSkip: string | false = prepare();

/** Runs peer scenario `scenario` with `args` to completion (killed after `timeoutMs`). */
export function runGo(scenario: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<ProcResult> {
  return runProc(PEER, [scenario, ...args], { input: opts.input, timeoutMs: opts.timeoutMs ?? 120_000, env: opts.env });
}

/** Starts peer scenario `scenario` as a long-running program printing JSON events (see json-process.ts). */
export function spawnGo(scenario: string, args: string[], opts: { env?: Record<string, string> } = {}): PeerProcess {
  return spawnPeer(PEER, [scenario, ...args], { env: opts.env });
}
