/**
 * The physical limits every figure is compared with: loopback TCP bandwidth (iperf3, one stream, 3 s) and the
 * disk under the temporary directory the brokers write to (fio: 1 GiB sequential 1 MiB writes ending with an
 * fsync, and 4 KiB writes each followed by fdatasync for the sync latency that bounds acks=all).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort, runCommand, startServer, waitForPort } from "./processes.ts";

/** Measured limits (null where the tool was missing or failed). */
export interface Limits {
  /** Loopback TCP bandwidth, MB/s (10^6 bytes). */
  tcpMBps: number | null;
  /** Sequential write incl. the final fsync, MB/s. */
  diskWriteMBps: number | null;
  /** fdatasync latency after a 4 KiB write (ms). */
  fdatasyncMs: { mean: number; p50: number; p99: number; p999: number } | null;
  /** fdatasync'd 4 KiB writes per second (one writer). */
  fdatasyncPerSec: number | null;
  /** Problems for the report. */
  notes: string[];
}

/** Runs iperf3 against itself on 127.0.0.1 for `seconds`. */
async function loopbackMBps(seconds: number, notes: string[]): Promise<number | null> {
  const port = await freePort();
  const server = startServer("iperf3", ["-s", "-B", "127.0.0.1", "-p", String(port)]);
  try {
    await waitForPort(port, 5000);
    const r = await runCommand("iperf3", ["-c", "127.0.0.1", "-p", String(port), "-t", String(seconds), "-J"], { timeoutMs: (seconds + 15) * 1000 });
    const doc = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
    const bps = doc.end?.sum_received?.bits_per_second;
    if (bps === undefined) throw new Error(doc.error ?? "no result");
    return bps / 8 / 1e6;
  } catch (e) {
    notes.push(`iperf3 failed: ${(e as Error).message}`);
    return null;
  } finally {
    await server.stop();
  }
}

interface FioJob {
  job_runtime: number;
  write: { bw_bytes: number; io_bytes: number; iops: number };
  sync?: { lat_ns: { mean: number; percentile?: Record<string, number> } };
}

async function fio(dir: string, args: string[], notes: string[]): Promise<FioJob | null> {
  const r = await runCommand("fio", [`--directory=${dir}`, "--output-format=json", ...args], { timeoutMs: 60_000 });
  try {
    const doc = JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) as { jobs: FioJob[] };
    return doc.jobs[0];
  } catch {
    notes.push(`fio ${args[0]} failed: ${r.stderr.trim().split("\n").slice(-1)[0]}`);
    return null;
  }
}

/** Measures the limits; tools that are missing give null. */
export async function measureLimits(have: Record<string, boolean>): Promise<Limits> {
  const notes: string[] = [];
  const tcpMBps = have.iperf3 ? await loopbackMBps(3, notes) : null;
  let diskWriteMBps: number | null = null;
  let fdatasyncMs: Limits["fdatasyncMs"] = null;
  let fdatasyncPerSec: number | null = null;
  if (have.fio) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-fio-"));
    try {
      const seq = await fio(dir, ["--name=seqwrite", "--rw=write", "--bs=1M", "--size=1G", "--ioengine=psync", "--end_fsync=1"], notes);
      if (seq !== null && seq.job_runtime > 0) diskWriteMBps = seq.write.io_bytes / 1e6 / (seq.job_runtime / 1000);
      fs.rmSync(path.join(dir, "seqwrite.0.0"), { force: true });
      const sync = await fio(dir, ["--name=fdatasync", "--rw=write", "--bs=4k", "--size=16M", "--fdatasync=1", "--ioengine=sync", "--runtime=2", "--time_based"], notes);
      if (sync?.sync !== undefined) {
        const pct = sync.sync.lat_ns.percentile ?? {};
        const at = (k: string) => (pct[k] ?? NaN) / 1e6;
        fdatasyncMs = { mean: sync.sync.lat_ns.mean / 1e6, p50: at("50.000000"), p99: at("99.000000"), p999: at("99.900000") };
        fdatasyncPerSec = sync.write.iops;
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } else notes.push("fio missing: disk limits not measured");
  if (!have.iperf3) notes.push("iperf3 missing: loopback bandwidth not measured");
  return { tcpMBps, diskWriteMBps, fdatasyncMs, fdatasyncPerSec, notes };
}
