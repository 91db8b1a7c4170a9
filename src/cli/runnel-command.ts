/** How to start this same `runnel` again as a child process (`runnel dev` brokers, the e2e bench's consumer). */
import * as nodePath from "node:path";
import { fileURLToPath } from "node:url";

/** How to run this same `runnel` (the compiled binary, or the runtime with main.ts). */
export function runnelCommand(): { command: string; args: string[] } {
  const exe = process.execPath;
  const base = nodePath.basename(exe).replace(/\.exe$/, "");
  const main = fileURLToPath(new URL("./main.ts", import.meta.url));
  if (base === "deno") return { command: exe, args: ["run", "-A", "--no-check", main] };
  if (base === "bun" || base === "node") return { command: exe, args: [main] };
  return { command: exe, args: [] };
}
