/**
 * Mounts the forgetful disk (forgetful_fs.py, a FUSE file system that drops unsynced writes and unsynced directory
 * changes on a simulated power cut) on a fresh temp dir, for power-cut tests. {@link forgetfulDiskSkipReason} says
 * why it cannot run here (no /dev/fuse, not root, no fusepy), so tests skip with a clear message.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before } from "node:test";
import { havePythonModule, PYTHON, runProc } from "../support/proc.ts";

const SCRIPT = path.join(import.meta.dirname, "forgetful_fs.py");

/** A mounted forgetful disk. */
export interface ForgetfulDisk {
  /** The mount point. */
  dir: string;
  /** Cuts the power: everything not fsynced (file data, directory entries) is forgotten. */
  cut(): void;
  /** Makes writes, truncates, creates and fsyncs under `dir` (inside the mount) fail with EIO, or stops that (null). */
  failWithEio(dir: string | null): void;
  /** Unmounts, stops the daemon and removes the mount point. */
  unmount(): Promise<void>;
}

/** Why the forgetful disk cannot be mounted on this machine, or false when it can. */
export async function forgetfulDiskSkipReason(): Promise<string | false> {
  if (!fs.existsSync("/dev/fuse")) return "/dev/fuse is absent (no FUSE in this kernel or container): forgetful-disk tests skipped";
  if (process.getuid?.() !== 0) return "mounting the FUSE forgetful disk needs root: forgetful-disk tests skipped";
  if (!fs.existsSync(PYTHON)) return `${PYTHON} is absent: forgetful-disk tests skipped`;
  const r = await runProc(PYTHON, ["-c", "import fusepy"], { timeoutMs: 20_000 });
  if (r.code !== 0) return "python3-fusepy is not installed (tests/setup.d/40-forgetful-disk.sh): forgetful-disk tests skipped";
  return false;
}

function mounted(dir: string): boolean {
  return fs.readFileSync("/proc/self/mounts", "utf8").split("\n").some((l) => l.split(" ")[1] === dir);
}

/** Mounts a new forgetful disk; resolves once the kernel lists the mount. */
export async function mountForgetfulDisk(timeoutMs = 20_000): Promise<ForgetfulDisk> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-forgetful-"));
  const child: ChildProcess = spawn(PYTHON, [SCRIPT, dir], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (b) => (err += b.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.on("exit", () => ((exited = true), resolve())));
  const deadline = Date.now() + timeoutMs;
  while (!mounted(dir)) {
    if (exited || Date.now() > deadline) {
      child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`forgetful disk did not mount on ${dir}: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const control = path.join(dir, ".forgetful");
  return {
    dir,
    cut() {
      fs.writeFileSync(control, "cut\n");
    },
    failWithEio(sub) {
      fs.writeFileSync(control, sub === null ? "eio off\n" : `eio /${path.relative(dir, sub)}\n`);
    },
    async unmount() {
      if (mounted(dir)) await runProc("umount", ["-l", dir], { timeoutMs: 20_000 });
      if (!exited) child.kill("SIGTERM");
      await exit;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Mounts one forgetful disk for the tests of a file (node:test before/after hooks) when the machine can, and the
 * power-cut tests need confluent-kafka too. `skip` says why not; `disk()` is the mounted disk inside a test.
 */
export async function forgetfulDiskForPowerCutTests(): Promise<{ skip: string | false; disk(): ForgetfulDisk }> {
  const skip =
    (await forgetfulDiskSkipReason()) ||
    (!(await havePythonModule("confluent_kafka")) && "python3-confluent-kafka is not installed: power-cut tests skipped");
  let mounted: ForgetfulDisk | null = null;
  before(async () => {
    if (!skip) mounted = await mountForgetfulDisk();
  });
  after(async () => {
    await mounted?.unmount();
  });
  return {
    skip,
    disk() {
      if (mounted === null) throw new Error("the forgetful disk is not mounted");
      return mounted;
    },
  };
}
