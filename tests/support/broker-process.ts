/**
 * Runs the broker as a separate process (for crash tests and runtime tests): `bun src/cli/main.ts start`, the
 * compiled `dist/runnel`, or Deno. Port 0 is used and the bound port is read from the ready log line.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { signalChild } from "./proc.ts";

/** Repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** A broker child process. */
export interface BrokerProcess {
  /** The child. */
  child: ChildProcess;
  /** Bound port. */
  port: number;
  /** "127.0.0.1:port". */
  bootstrap: string;
  /** All stderr so far. */
  log(): string;
  /** Sends a signal and waits for exit; returns the exit code or signal. */
  stop(signal?: NodeJS.Signals): Promise<number | string | null>;
}

/** How to run the broker. */
export type BrokerRuntime = "bun" | "deno" | "binary";

/**
 * The log line of a node that serves clients, with its port: a broker's "listening on NAME://host:port", or a sharded
 * node's front ("front of node N listening on ..."); a shard's own line (`[shard K] ... listening on
 * PLAINTEXT://shard-K:9092`) names no port a client can use. The host may be an IPv6 address (`:::9092`, `[::1]:9092`).
 */
export const LISTENING_LINE = /^(?!.*\[shard \d+\]).*listening on \w+:\/\/(?:\[[^\]\s]*\]|\S*?):(\d+)/m;

/** The environment variable that makes the shared test helpers start nodes with that many shards (docs/sharding.md). */
export const TEST_SHARDS_ENV = "RUNNEL_TEST_SHARDS";

/** Shards of every node the shared helpers start: `RUNNEL_TEST_SHARDS` (tests/run.ts's sharded pass sets 2), default 1. */
export function testShards(env: Record<string, string | undefined> = process.env): number {
  const v = env[TEST_SHARDS_ENV];
  if (v === undefined || v === "") return 1;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${TEST_SHARDS_ENV}=${v}: expected a shard count of at least 1`);
  return n;
}

/**
 * The `--shards` argument {@link testShards} adds to `runnel start` arguments (brokers of an etcd cluster too): none
 * when 1, or when the arguments set the count themselves.
 */
export function testShardArgs(args: readonly string[], shards = testShards()): string[] {
  if (shards === 1 || args.some((a) => a === "--shards" || a.startsWith("runnel.shards="))) return [];
  return ["--shards", String(shards)];
}

/**
 * Starts a broker process with `args` after `start` (and `env` added to this process's, and the command run under
 * `prefix`, e.g. `prlimit --nofile=1024:1024`); resolves once it logs that it listens. Under `RUNNEL_TEST_SHARDS=N`
 * the node runs N shards ({@link testShardArgs}).
 */
export function startBrokerProcess(runtime: BrokerRuntime, args: string[], timeoutMs = 20_000, env: Record<string, string> = {}, prefix: string[] = []): Promise<BrokerProcess> {
  args = [...args, ...testShardArgs(args)];
  const bin = (n: string) => path.join(ROOT, "node_modules", ".bin", n);
  const [cmd, argv] =
    runtime === "bun"
      ? [bin("bun"), [path.join(ROOT, "src/cli/main.ts"), "start", ...args]]
      : runtime === "deno"
        ? [bin("deno"), ["run", "-A", "--no-check", path.join(ROOT, "src/cli/main.ts"), "start", ...args]]
        : [path.join(ROOT, "dist/runnel"), ["start", ...args]];
  const child = spawn(prefix.length > 0 ? prefix[0] : cmd, prefix.length > 0 ? [...prefix.slice(1), cmd, ...argv] : argv, { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT, env: { ...process.env, ...env } });
  let err = "";
  let exited: number | string | null | undefined;
  const exitWaiters: ((v: number | string | null) => void)[] = [];
  child.on("exit", (code, sig) => {
    exited = code ?? sig;
    for (const w of exitWaiters) w(exited);
  });
  child.stdout!.on("data", (b) => (err += b.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`broker did not become ready in ${timeoutMs} ms:\n${err}`));
    }, timeoutMs);
    child.on("exit", () => {
      clearTimeout(timer);
      reject(new Error(`broker exited before ready:\n${err}`));
    });
    child.stderr!.on("data", (b) => {
      err += b.toString();
      const m = LISTENING_LINE.exec(err);
      if (m) {
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({
          child,
          port,
          bootstrap: `127.0.0.1:${port}`,
          log: () => err,
          stop(signal = "SIGTERM") {
            if (exited !== undefined) return Promise.resolve(exited);
            return new Promise((res) => {
              exitWaiters.push(res);
              signalChild(child, signal); // by pid: a SIGKILL after a SIGTERM that hung must still be sent under Deno
            });
          },
        });
      }
    });
  });
}
