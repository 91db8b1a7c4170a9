/**
 * Loopback TCP measured by iperf3 (`-l 1M`, one stream), the yardstick of issue 15's fetch target. iperf3 runs as
 * a server on an OS-chosen free port of 127.0.0.1 (bench/suite/processes.ts) and a client sends to it for
 * `seconds`; the JSON report gives the bytes received and both ends' CPU use. When iperf3 is missing, bench/setup-iperf3.sh installs it
 * with apt-get (as root); where that cannot happen the result says why and the caller reports the row as skipped.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { freePort, haveCommand, runCommand, startServer, waitForPort } from "./suite/processes.ts";
import { ROOT } from "./support.ts";

/** One iperf3 loopback measurement. */
export interface Iperf3Result {
  /** Received payload, MB/s (10^6 bytes). */
  mbps: number;
  /** Seconds the client sent for. */
  seconds: number;
  /** CPU seconds per GB of both ends together (sender + receiver, user + system), from iperf3's own accounting. */
  cpuSecondsPerGB: number;
  /** The command run (client side). */
  command: string;
}

/** What iperf3 -J reports (the parts read here). */
interface IperfReport {
  end?: { sum_received?: { bytes: number; seconds: number }; cpu_utilization_percent?: { host_total: number; remote_total: number } };
  error?: string;
}

/** Client runs tried before the row is reported as skipped. */
const IPERF3_ATTEMPTS = 3;
/** Longest wait for the iperf3 server to accept connections. */
const SERVER_START_TIMEOUT_MS = 10_000;

/** Whether iperf3 is there, installing it with bench/setup-iperf3.sh when missing; or why it cannot be had. */
export function ensureIperf3(): true | { skipped: string } {
  if (haveCommand("iperf3")) return true;
  const r = spawnSync("bash", [path.join(ROOT, "bench", "setup-iperf3.sh")], { encoding: "utf8" });
  return haveCommand("iperf3") ? true : { skipped: `iperf3 is not installed and could not be: ${(r.stdout + r.stderr).trim()}` };
}

/** Runs one iperf3 loopback measurement of `seconds` with 1 MiB writes (server and client tracked and stopped). */
export async function measureIperf3(seconds: number): Promise<Iperf3Result | { skipped: string }> {
  const have = ensureIperf3();
  if (have !== true) return have;
  const port = await freePort();
  const server = startServer("iperf3", ["-s", "-B", "127.0.0.1", "-p", String(port)]);
  try {
    await waitForPort(port, SERVER_START_TIMEOUT_MS);
    const args = ["-c", "127.0.0.1", "-p", String(port), "-l", "1M", "-t", String(seconds), "-J"];
    let why = "";
    // The readiness probe's connection can leave the server briefly busy: a refused run is tried again.
    for (let attempt = 0; attempt < IPERF3_ATTEMPTS; attempt++) {
      const client = await runCommand("iperf3", args, { timeoutMs: (seconds + 30) * 1000 });
      let report: IperfReport;
      try {
        report = JSON.parse(client.stdout) as IperfReport;
      } catch {
        why = `iperf3 printed no report: ${client.stdout}${client.stderr}`;
        continue;
      }
      const got = report.end?.sum_received;
      const cpu = report.end?.cpu_utilization_percent;
      if (got === undefined || cpu === undefined || got.bytes === 0) {
        why = `iperf3 failed: ${report.error ?? "no result"}`;
        continue;
      }
      const cpuSeconds = ((cpu.host_total + cpu.remote_total) / 100) * got.seconds;
      return { mbps: got.bytes / 1e6 / got.seconds, seconds: got.seconds, cpuSecondsPerGB: cpuSeconds / (got.bytes / 1e9), command: `iperf3 ${args.join(" ")}` };
    }
    return { skipped: why };
  } finally {
    await server.stop();
  }
}
