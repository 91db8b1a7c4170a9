/**
 * `runnel dev --brokers 3`: it starts etcd and three brokers on loopback with all data under one folder, prints the
 * bootstrap servers, `kcat -L` sees three brokers, and one SIGINT to the `runnel dev` process stops it and every
 * process it started (each printed pid is gone, and so is its process group). Without etcd it says so clearly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ETCD_BIN, ETCD_SKIP_REASON } from "../support/etcd.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { until } from "../support/cluster-processes.ts";
import { runnel } from "./run-cli.ts";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const skip = ETCD_SKIP_REASON || (haveCommand("kcat") ? false : "SKIPPED: no kcat (bash tests/setup.d/10-interop-peers.sh)");

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test("runnel dev --brokers 3: comes up, kcat -L shows three brokers, SIGINT leaves no process behind", { skip, timeout: 240_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-dev-"));
  const etcdDir = path.dirname(ETCD_BIN.startsWith("/") ? ETCD_BIN : "/usr/bin/etcd");
  // its own process group, as a terminal would run it, so the group can be checked afterwards
  const dev = spawn(path.join(ROOT, "node_modules", ".bin", "bun"), [path.join(ROOT, "src/cli/main.ts"), "dev", "--brokers", "3", "--data-dir", dir, "--port", "0", "--etcd-port", "0"], {
    cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PATH: `${etcdDir}:${process.env.PATH}` },
  });
  let out = "";
  dev.stdout!.on("data", (b) => (out += b.toString()));
  dev.stderr!.on("data", (b) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => dev.on("exit", (code) => r(code)));
  const pids = () => [...out.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
  try {
    await until("runnel dev to print the bootstrap servers", 150_000, () => /Bootstrap servers: \S+/.test(out));
    const bootstrap = /Bootstrap servers: (\S+)/.exec(out)![1];
    assert.equal(bootstrap.split(",").length, 3);
    assert.equal(pids().length, 4, out);
    for (const sub of ["etcd", "broker-1", "broker-2", "broker-3", "logs"]) assert.ok(fs.existsSync(path.join(dir, sub)), `${sub} under the data folder`);
    const md = await runProc("kcat", ["-L", "-b", bootstrap, "-m", "10"], { timeoutMs: 30_000 });
    assert.equal(md.code, 0, md.stderr);
    assert.match(md.stdout, / 3 brokers:/);
    for (const id of [1, 2, 3]) assert.match(md.stdout, new RegExp(`broker ${id} at 127\\.0\\.0\\.1:\\d+`));

    process.kill(dev.pid!, "SIGINT");
    assert.equal(await exited, 0, out);
    for (const pid of pids()) await until(`pid ${pid} to be gone`, 5_000, () => !alive(pid));
    const group = await runProc("ps", ["-o", "pid=", "-g", String(dev.pid)]);
    assert.equal(group.stdout.trim(), "", `processes left in the group of runnel dev: ${group.stdout}`);
    assert.match(out, /runnel dev: stopped/);
  } finally {
    for (const pid of [dev.pid!, ...pids()]) if (alive(pid)) process.kill(pid, "SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("runnel dev without etcd says what is missing and how to get it", async () => {
  const r = await runnel(["dev", "--etcd", "/nonexistent/etcd", "--data-dir", path.join(os.tmpdir(), "runnel-dev-none")]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no etcd executable at '\/nonexistent\/etcd'.*apt install etcd-server/s);
});
