/** What the cluster benches read of a running node: its threads' CPU (/proc) and its Fetch request count (/metrics). */
import * as fs from "node:fs";

/** Linux clock ticks per second of /proc stat times. */
const CLOCK_TICKS = 100;

/** CPU seconds of all threads of `pid` so far (with `mainOnly`, of its main thread alone: the main front). */
export function cpuOf(pid: number, mainOnly = false): number {
  let s = 0;
  for (const tid of mainOnly ? [String(pid)] : fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      s += (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return s;
}

/**
 * CPU seconds (user + system) process `pid` has used so far, from /proc/PID/stat: every thread's, the ended ones'
 * included (what {@link cpuOf} cannot count).
 */
export function processCpuOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}

/** Fetch requests node `url` has answered so far (followers' and consumers'; a sharded node's summed over its shards). */
export async function fetchRequests(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^kafka_network_requestmetrics_requests_total\{request="Fetch"\} (\S+)$/m.exec(text);
  return m === null ? 0 : Number(m[1]);
}
