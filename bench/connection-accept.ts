/**
 * The broker's CPU per accepted connection (connect, ApiVersions, close), to compare the accept path of two source
 * trees A/B in interleaved pairs (A B B A ...): each run starts a fresh broker process from the tree's
 * src/cli/main.ts, opens `--connections` connections `--parallel` at a time from 127.0.0.1, each asking ApiVersions
 * once, and reads the broker's CPU time from /proc before and after. Reports CPU µs per connection per run.
 *
 *   bun bench/connection-accept.ts --a /work/main --b . [--connections 5000] [--parallel 20] [--pairs 3] [-o k=v ...]
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { RawClient } from "../tests/support/raw-client.ts";
import { processCpuSeconds } from "../tests/support/overload.ts";

const { values } = parseArgs({
  options: {
    a: { type: "string" },
    b: { type: "string", default: "." },
    connections: { type: "string", default: "5000" },
    parallel: { type: "string", default: "20" },
    pairs: { type: "string", default: "3" },
    o: { type: "string", multiple: true, default: [] },
  },
});
if (values.a === undefined) throw new Error("--a ROOT (the tree to compare with) is required");
const connections = Number(values.connections);
const parallel = Number(values.parallel);
const bun = path.resolve("node_modules/.bin/bun");

/** Starts `root`'s broker; resolves its pid, port and a stop function. */
function startBroker(root: string): Promise<{ pid: number; port: number; stop: () => Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "connrate-bench-"));
  const extra = (values.o ?? []).flatMap((kv) => ["-o", kv]);
  const child = spawn(bun, [path.join(path.resolve(root), "src/cli/main.ts"), "start", "--port", "0", "--data-dir", dir, ...extra], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  return new Promise((resolve, reject) => {
    child.once("exit", () => reject(new Error(`broker exited:\n${err}`)));
    child.stderr!.on("data", (b) => {
      err += b.toString();
      const m = /listening on PLAINTEXT:\/\/[^:]+:(\d+)/.exec(err);
      if (m !== null) {
        child.stderr!.removeAllListeners("data");
        child.stderr!.resume();
        resolve({
          pid: child.pid!,
          port: Number(m[1]),
          stop: () => new Promise<void>((res) => {
            child.removeAllListeners("exit");
            child.once("exit", () => {
              fs.rmSync(dir, { recursive: true, force: true });
              res();
            });
            child.kill("SIGTERM");
          }),
        });
      }
    });
  });
}

/** One run: CPU µs per connection of `root`'s broker. */
async function run(root: string): Promise<number> {
  const b = await startBroker(root);
  try {
    // warm-up (JIT, the first connection's allocations)
    for (let i = 0; i < 200; i++) await once(b.port);
    const cpu0 = processCpuSeconds(b.pid);
    let next = 0;
    await Promise.all(Array.from({ length: parallel }, async () => {
      while (next < connections) {
        next++;
        await once(b.port);
      }
    }));
    return ((processCpuSeconds(b.pid) - cpu0) * 1e6) / connections;
  } finally {
    await b.stop();
  }
}

async function once(port: number): Promise<void> {
  const c = await RawClient.connect(port);
  try {
    await c.request(18, 3, { clientSoftwareName: "bench", clientSoftwareVersion: "1" });
  } finally {
    c.close();
  }
}

const rows: string[] = [];
const results: Record<"A" | "B", number[]> = { A: [], B: [] };
for (let p = 0; p < Number(values.pairs); p++) {
  const order: Array<"A" | "B"> = p % 2 === 0 ? ["A", "B"] : ["B", "A"];
  for (const side of order) {
    const us = await run(side === "A" ? values.a : values.b!);
    results[side].push(us);
    rows.push(`pair ${p + 1} ${side}: ${us.toFixed(1)} µs CPU per connection`);
    console.log(rows[rows.length - 1]);
  }
}
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
console.log(`A ${values.a}: mean ${mean(results.A).toFixed(1)} µs; B ${values.b}: mean ${mean(results.B).toFixed(1)} µs (B/A ${(mean(results.B) / mean(results.A)).toFixed(3)}); load ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}`);
