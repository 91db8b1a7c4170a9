/**
 * `runnel dev --brokers 3`: a local cluster for trying replication and failover on one machine. It starts an etcd
 * (found on PATH) and N brokers on loopback, with every piece's data and log under one folder, prints the bootstrap
 * servers, and on Ctrl-C (SIGINT) or SIGTERM stops the brokers (each with its controlled shutdown), then etcd,
 * and exits once every process it started has exited; a second Ctrl-C kills them at once.
 */
import { parseArgs } from "node:util";
import * as nodeFs from "node:fs";
import * as nodePath from "node:path";
import { findOnPath, startProgram, type ChildProgram } from "../platform/child-process.ts";
import { listen } from "../platform/net.ts";
import { EtcdClient } from "../cluster/etcd-client.ts";
import { brokerConfigDef } from "../broker/config.ts";
import { keyValues, runCommand, UsageError, intFlag } from "./client-flags.ts";
import { runnelCommand } from "./runnel-command.ts";

/** Longest wait for etcd and each broker to become ready, ms. */
export const DEV_START_TIMEOUT_MS = 90_000;
/** Longest wait for a stopped process to exit before it is killed, ms. */
export const DEV_STOP_TIMEOUT_MS = 30_000;
/** Most brokers `runnel dev` starts. */
export const DEV_MAX_BROKERS = 9;
/** Replication factor of the topics a dev cluster creates by default (at most the broker count). */
const DEV_REPLICATION_FACTOR = 3;

/** Help text for `runnel dev`. */
export const DEV_USAGE = `Usage: runnel dev [options]

Starts a local cluster on 127.0.0.1: one etcd (from PATH) and N brokers, all data and logs in one folder.
Ctrl-C stops every process it started (brokers first, then etcd); a second Ctrl-C kills them at once.

Options:
      --brokers N            Number of brokers (default 3, at most ${DEV_MAX_BROKERS})
      --data-dir DIR         Folder for all data and logs (default ./runnel-dev; kept between runs)
      --port N               Port of broker 1; broker i listens on N+i-1 (default 9092; 0: OS-chosen ports)
      --etcd-port N          etcd client port; its peer port is N+1 (default 2379; 0: OS-chosen ports)
      --etcd PATH            etcd executable (default: etcd found on PATH)
  -o, --override KEY=VALUE   Broker setting for every broker (repeatable)
  -h, --help                 Show this help`;

/** A loopback port that was free a moment ago (the OS chose it). */
async function freePort(): Promise<number> {
  const l = await listen("127.0.0.1", 0, () => ({ onData() {}, onDrain() {}, onClose() {} }));
  const port = l.port;
  await l.close();
  return port;
}

/** Resolves when `check` answers true, false when `child` exits first or `timeoutMs` passes. */
async function readyOrExit(child: ChildProgram, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !child.hasExited) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Stops `children` with `signal`, killing those still running after DEV_STOP_TIMEOUT_MS. */
async function stopAll(children: readonly ChildProgram[], signal: "SIGTERM" | "SIGINT"): Promise<void> {
  for (const c of children) c.signal(signal);
  await Promise.all(children.map(async (c) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), DEV_STOP_TIMEOUT_MS)));
    if ((await Promise.race([c.exited, late])) === "late") {
      c.signal("SIGKILL");
      await c.exited;
    }
    clearTimeout(timer);
  }));
}

/** Runs `runnel dev`; resolves with the exit code once everything it started has stopped. */
export function devCommand(argv: string[]): Promise<number> {
  return runCommand("dev", DEV_USAGE, async () => {
    const { values } = parseArgs({
      args: argv,
      options: {
        brokers: { type: "string" },
        "data-dir": { type: "string" },
        port: { type: "string" },
        "etcd-port": { type: "string" },
        etcd: { type: "string" },
        override: { type: "string", short: "o", multiple: true },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
    if (values.help) {
      console.log(DEV_USAGE);
      return 0;
    }
    const count = intFlag("brokers", values.brokers, 1) ?? 3;
    if (count > DEV_MAX_BROKERS) throw new UsageError(`--brokers is at most ${DEV_MAX_BROKERS}`);
    const basePort = intFlag("port", values.port) ?? 9092;
    const etcdPortFlag = intFlag("etcd-port", values["etcd-port"]) ?? 2379;
    const overrides = keyValues("override", values.override);
    const etcdBin = findOnPath(values.etcd ?? "etcd");
    if (etcdBin === null) {
      console.error(
        `runnel dev: no etcd executable ${values.etcd ? `at '${values.etcd}'` : "on PATH"}. The cluster keeps its metadata in etcd; ` +
          "install it (Debian/Ubuntu: apt install etcd-server; macOS: brew install etcd; or a release from " +
          "https://github.com/etcd-io/etcd/releases) or point to it with --etcd PATH.",
      );
      return 1;
    }
    const dir = nodePath.resolve(values["data-dir"] ?? "runnel-dev");
    const logs = nodePath.join(dir, "logs");
    nodeFs.mkdirSync(logs, { recursive: true });

    const children: ChildProgram[] = [];
    let stopping = false;
    let stopped: Promise<void> | null = null;
    const brokers: ChildProgram[] = [];
    let etcd: ChildProgram | null = null;
    // brokers first (each hands its leaderships over while etcd still runs), etcd last
    const shutdown = (signal: "SIGTERM" | "SIGINT") => {
      if (stopped === null) {
        stopping = true;
        stopped = stopAll(brokers, signal).then(() => (etcd ? stopAll([etcd], "SIGTERM") : undefined));
      }
      return stopped;
    };
    // the first signal stops everything in order; a second one kills what is left at once
    let signals = 0;
    const signalled = new Promise<string>((resolve) => {
      const on = (name: string) => {
        if (++signals === 2) {
          console.error(`runnel dev: ${name} again: killing every process it started`);
          for (const c of children) c.signal("SIGKILL");
        }
        resolve(name);
      };
      process.on("SIGINT", () => on("SIGINT"));
      process.on("SIGTERM", () => on("SIGTERM"));
    });

    const etcdPort = etcdPortFlag === 0 ? await freePort() : etcdPortFlag;
    const peerPort = etcdPortFlag === 0 ? await freePort() : etcdPortFlag + 1;
    const endpoint = `http://127.0.0.1:${etcdPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    etcd = startProgram(etcdBin, [
      "--name", "runnel-dev", "--data-dir", nodePath.join(dir, "etcd"),
      "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
      "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", `runnel-dev=${peer}`,
      "--log-level", "warn",
    ], { logFile: nodePath.join(logs, "etcd.log"), ownProcessGroup: true });
    children.push(etcd);
    console.log(`runnel dev: etcd (pid ${etcd.pid}) on ${endpoint}, data in ${nodePath.join(dir, "etcd")}`);
    const client = new EtcdClient({ endpoints: [endpoint], requestTimeoutMs: 2_000 });
    const etcdUp = await readyOrExit(etcd, DEV_START_TIMEOUT_MS, () => client.get("/runnel-dev/ready").then(() => true, () => false));
    if (!etcdUp) {
      console.error(`runnel dev: etcd did not start; see ${nodePath.join(logs, "etcd.log")}`);
      await shutdown("SIGTERM");
      return 1;
    }

    const self = runnelCommand();
    const rf = String(Math.min(DEV_REPLICATION_FACTOR, count));
    const defaults: Record<string, string> = { "default.replication.factor": rf, "offsets.topic.replication.factor": rf };
    if (brokerConfigDef("transaction.state.log.replication.factor") !== undefined) defaults["transaction.state.log.replication.factor"] = rf;
    const bound: number[] = [];
    const starting = Array.from({ length: count }, async (_, i) => {
      const id = i + 1;
      const settings = { ...defaults, ...overrides, "node.id": String(id), "metadata.etcd.endpoints": endpoint };
      const args = [...self.args, "start", "--port", String(basePort === 0 ? 0 : basePort + i), "--data-dir", nodePath.join(dir, `broker-${id}`)];
      for (const [k, v] of Object.entries(settings)) args.push("-o", `${k}=${v}`);
      const child = startProgram(self.command, args, {
        logFile: nodePath.join(logs, `broker-${id}.log`),
        ownProcessGroup: true,
        onLine: (line) => {
          const m = /listening on \w+:\/\/[^\s,]*:(\d+)/.exec(line);
          if (m && bound[i] === undefined) bound[i] = Number(m[1]);
        },
      });
      brokers[i] = child;
      children.push(child);
      child.exited.then((code) => {
        if (!stopping) console.error(`runnel dev: broker ${id} exited (${code}); see ${nodePath.join(logs, `broker-${id}.log`)}`);
      });
      return readyOrExit(child, DEV_START_TIMEOUT_MS, () => bound[i] !== undefined);
    });
    const ready = await Promise.race([Promise.all(starting), signalled.then(() => null)]);
    if (ready === null || ready.some((ok) => !ok)) {
      if (ready !== null) console.error(`runnel dev: a broker did not start; see the logs in ${logs}`);
      await shutdown("SIGTERM");
      return ready === null ? 0 : 1;
    }
    brokers.forEach((b, i) => console.log(`runnel dev: broker ${i + 1} (pid ${b.pid}) on 127.0.0.1:${bound[i]}, data in ${nodePath.join(dir, `broker-${i + 1}`)}`));
    console.log(`Bootstrap servers: ${bound.map((p) => `127.0.0.1:${p}`).join(",")}`);
    console.log(`Logs in ${logs}. Press Ctrl-C to stop.`);
    const signal = await signalled;
    console.log(`runnel dev: ${signal}: stopping ${count} broker(s), then etcd`);
    await shutdown(signal === "SIGINT" ? "SIGINT" : "SIGTERM");
    console.log("runnel dev: stopped");
    return 0;
  });
}
