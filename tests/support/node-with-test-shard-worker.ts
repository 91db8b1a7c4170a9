/**
 * A sharded node whose shards run a test's worker module instead of src/shard/shard-worker.ts (which may call
 * `runShard` with a file system of its own): `runnel start` with the given arguments in a process of its own.
 * Run as a script it is that process (`RUNNEL_TEST_SHARD_WORKER` names the module); {@link startNodeWithShardWorker}
 * starts it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { LISTENING_LINE, ROOT } from "./broker-process.ts";
import { signalChild } from "./proc.ts";

/** A running node of {@link startNodeWithShardWorker}. */
export interface NodeWithShardWorker {
  child: ChildProcess;
  /** Its Kafka port. */
  port: number;
  /** Its output so far. */
  log(): string;
  /** SIGTERM, then its exit code (or signal). */
  stop(): Promise<number | string | null>;
  /** SIGKILL unless it has exited; resolves once it has. */
  kill(): Promise<void>;
}

/** Starts `runnel start ARGS` with shards running `workerModule` (a path), `env` added; resolves once it listens. */
export async function startNodeWithShardWorker(workerModule: string, args: string[], env: Record<string, string> = {}, timeoutMs = 90_000): Promise<NodeWithShardWorker> {
  const child = spawn(path.join(ROOT, "node_modules/.bin/bun"), [path.join(ROOT, "tests/support/node-with-test-shard-worker.ts"), ...args], { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT, env: { ...process.env, ...env, RUNNEL_TEST_SHARD_WORKER: workerModule } });
  let log = "";
  child.stdout!.on("data", (b) => (log += b.toString()));
  child.stderr!.on("data", (b) => (log += b.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) signalChild(child, "SIGKILL");
    await exited;
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = LISTENING_LINE.exec(log);
    if (m) return { child, port: Number(m[1]), log: () => log, stop: () => (signalChild(child, "SIGTERM"), exited), kill };
    if (child.exitCode !== null || Date.now() > deadline) {
      await kill();
      throw new Error(`the node did not listen:\n${log.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

if (import.meta.main) {
  const { runShardedNode, startConfig } = await import("../../src/cli/start.ts");
  const worker = process.env.RUNNEL_TEST_SHARD_WORKER;
  if (worker === undefined) throw new Error("RUNNEL_TEST_SHARD_WORKER is not set");
  process.exit(await runShardedNode(startConfig(process.argv.slice(2), {}), {}, { shardWorkerModule: pathToFileURL(worker) }));
}
