/**
 * Installs what the suite measures against: redis-server, nats-server, iperf3 and fio from Debian (apt-get, as
 * root, after `apt-get update`), and checks that the `nats` npm client is present. What cannot be installed is
 * reported and the parts that need it are skipped.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { haveCommand, runCommand } from "./processes.ts";

/** Debian package for each program the suite runs. */
const PACKAGES: Record<string, string> = {
  "redis-server": "redis-server",
  "nats-server": "nats-server",
  iperf3: "iperf3",
  fio: "fio",
};

/** Which peer programs are available after installing. */
export interface Tools {
  /** Program name -> available. */
  have: Record<string, boolean>;
  /** The nats npm client resolves. */
  natsClient: boolean;
  /** Installation notes for the report. */
  notes: string[];
}

/** Installs missing peers where possible. */
export async function ensureTools(root: string): Promise<Tools> {
  const notes: string[] = [];
  const missing = Object.keys(PACKAGES).filter((p) => !haveCommand(p));
  if (missing.length > 0) {
    const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
    if (!isRoot || !haveCommand("apt-get")) {
      notes.push(`not installed (needs root and apt-get): ${missing.join(", ")}`);
    } else {
      const pkgs = missing.map((m) => PACKAGES[m]);
      console.error(`  installing ${pkgs.join(" ")} with apt-get`);
      const env = { DEBIAN_FRONTEND: "noninteractive" };
      const upd = await runCommand("apt-get", ["update", "-qq"], { env, timeoutMs: 300_000 });
      if (upd.code !== 0) notes.push(`apt-get update failed: ${upd.stderr.trim().split("\n").slice(-1)[0]}`);
      const inst = await runCommand("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...pkgs], { env, timeoutMs: 600_000 });
      if (inst.code !== 0) notes.push(`apt-get install failed: ${inst.stderr.trim().split("\n").slice(-1)[0]}`);
      // Debian's redis-server package may start a system service on port 6379; the suite never uses it.
    }
  }
  const have: Record<string, boolean> = {};
  for (const p of Object.keys(PACKAGES)) have[p] = haveCommand(p);
  const natsClient = fs.existsSync(path.join(root, "node_modules", "nats", "package.json"));
  if (!natsClient) notes.push("the nats npm client is missing (npm install): NATS runs skipped");
  return { have, natsClient, notes };
}

/** The version line a program prints, or "?". */
export async function versionOf(cmd: string, args: string[]): Promise<string> {
  try {
    const r = await runCommand(cmd, args, { timeoutMs: 10_000 });
    return (r.stdout || r.stderr).trim().split("\n")[0] ?? "?";
  } catch {
    return "?";
  }
}
