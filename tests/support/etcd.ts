/**
 * A real etcd for tests: one member on 127.0.0.1 with OS-chosen free ports and a temp data dir. It can be stopped
 * and started again on the same ports and data (to test "etcd down"), and is removed by {@link TestEtcd.close}.
 * Tests skip with {@link ETCD_SKIP_REASON} where no etcd binary is installed (tests/setup.d/40-etcd.sh installs it).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { after, before } from "node:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { haveCommand, signalChild } from "./proc.ts";
import { freePorts, waitForFreePorts } from "../../bench/suite/processes.ts";
import { EtcdClient } from "../../src/cluster/etcd-client.ts";

/** The etcd binary tests run. */
export const ETCD_BIN = haveCommand("/usr/bin/etcd") ? "/usr/bin/etcd" : "etcd";

/** Why etcd tests are skipped here, or false when etcd is available. */
export const ETCD_SKIP_REASON: string | false = haveCommand(ETCD_BIN) ? false : "SKIPPED: no etcd binary (install Debian's etcd-server: bash tests/setup.d/40-etcd.sh)";

/** Starts tried before a port taken between pick (or stop) and bind counts as a failure. */
const PORT_ATTEMPTS = 4;
/** Longest a start on kept ports waits for a taken one to be free again (ms). */
const KEPT_PORTS_WAIT_MS = 30_000;

/** How long etcd may take to answer /health after start, ms (the machine is shared and loaded). */
const START_TIMEOUT_MS = 30_000;
/** How long a killed etcd may take to exit, ms. */
const STOP_TIMEOUT_MS = 30_000;

/** A running (or stopped) test etcd. */
export class TestEtcd {
  /** Client URL, `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** Data directory. */
  readonly dataDir: string;
  private readonly clientPort: number;
  private readonly peerPort: number;
  private child: ChildProcess | null = null;
  private log = "";
  private paused = false;

  private constructor(dataDir: string, clientPort: number, peerPort: number, host: string) {
    this.dataDir = dataDir;
    this.clientPort = clientPort;
    this.peerPort = peerPort;
    this.endpoint = `http://${host}:${clientPort}`;
  }

  /**
   * Starts a fresh etcd serving clients on `host` (default loopback) and waits until it is healthy. When a port it
   * picked was taken before etcd bound it, it starts again on new ports (up to {@link PORT_ATTEMPTS} times).
   */
  static async start(host = "127.0.0.1"): Promise<TestEtcd> {
    for (let attempt = 1; ; attempt++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-etcd-"));
      const [clientPort, peerPort] = await freePorts(2);
      const e = new TestEtcd(dir, clientPort, peerPort, host);
      try {
        await e.resume();
        return e;
      } catch (err) {
        await e.close();
        if (attempt >= PORT_ATTEMPTS || !/address already in use/i.test(e.output())) throw err;
      }
    }
  }

  /** Whether the process is running. */
  get running(): boolean {
    return this.child !== null;
  }

  /** etcd's output so far (for failure messages). */
  output(): string {
    return this.log;
  }

  /**
   * Starts etcd again on the same ports and data dir; waits for health. While etcd was down a port of its may have
   * been taken (a client retrying 127.0.0.1:port can get that very port as its local one: a TCP self-connect), so a
   * start that fails on a taken port waits for both ports to be free and tries again, up to {@link PORT_ATTEMPTS}.
   */
  async resume(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const logBefore = this.log.length;
      try {
        return await this.resumeOnce();
      } catch (e) {
        if (attempt >= PORT_ATTEMPTS || !/address already in use/i.test(this.log.slice(logBefore))) throw e;
        if ((await waitForFreePorts([this.clientPort, this.peerPort], KEPT_PORTS_WAIT_MS)) !== null) throw e;
      }
    }
  }

  private async resumeOnce(): Promise<void> {
    if (this.child) return;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const child = spawn(ETCD_BIN, [
      "--name", "test",
      "--data-dir", path.join(this.dataDir, "data"),
      "--listen-client-urls", this.endpoint,
      "--advertise-client-urls", this.endpoint,
      "--listen-peer-urls", peer,
      "--initial-advertise-peer-urls", peer,
      "--initial-cluster", `test=${peer}`,
      "--log-level", "warn",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    child.stdout!.on("data", (b) => (this.log += b.toString()));
    child.stderr!.on("data", (b) => (this.log += b.toString()));
    child.on("exit", () => {
      if (this.child === child) this.child = null;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.child) throw new Error(`etcd exited during start:\n${this.log}`);
      try {
        const r = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
        if (r.ok && (await r.json()).health === "true") return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.stop();
    throw new Error(`etcd did not become healthy in ${START_TIMEOUT_MS} ms:\n${this.log}`);
  }

  /** Stops the process (SIGKILL: a crash, as a test of "etcd down" wants) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.unpause();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        child.once("exit", () => resolve());
        timer = setTimeout(() => reject(new Error(`etcd (pid ${child.pid}) did not exit within ${STOP_TIMEOUT_MS} ms of ${signal}`)), STOP_TIMEOUT_MS);
        signalChild(child, signal);
      });
    } finally {
      clearTimeout(timer);
    }
    this.child = null;
  }

  /** Freezes the process (SIGSTOP): connections stay open and nothing answers, as behind a cut network. */
  pause(): void {
    if (this.child && !this.paused) signalChild(this.child, "SIGSTOP");
    this.paused = true;
  }

  /** Thaws a paused process (SIGCONT). */
  unpause(): void {
    if (this.child && this.paused) signalChild(this.child, "SIGCONT");
    this.paused = false;
  }

  /** Stops etcd and removes its data dir. */
  async close(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** The etcd of one test file and a client for it (set once the file's `before` hook ran). */
export interface SharedTestEtcd {
  /** The running etcd. */
  etcd: TestEtcd;
  /** A client with a short deadline. */
  client: EtcdClient;
}

/** Starts one etcd before the file's tests and removes it after them; does nothing where etcd is missing. */
export function sharedTestEtcd(): SharedTestEtcd {
  const ctx = {} as SharedTestEtcd;
  before(async () => {
    if (ETCD_SKIP_REASON) return;
    ctx.etcd = await TestEtcd.start();
    ctx.client = new EtcdClient({ endpoints: [ctx.etcd.endpoint], requestTimeoutMs: 2_000 });
  });
  after(async () => {
    if (ctx.etcd) await ctx.etcd.close();
  });
  return ctx;
}
