/**
 * Start-up time and idle memory of each server: the time from spawning the process to its port accepting a TCP
 * connection (median of several cold starts, each with a fresh data directory), and its resident set size after
 * it has idled for a moment.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort, rssMiB, startServer, waitForPort } from "./processes.ts";

/** How a server is started on a port with a data directory. */
export type ServerCommand = (port: number, dataDir: string) => { cmd: string; args: string[] };

/** Start-up and idle memory figures of one server. */
export interface StartupFigures {
  /** Median ms from spawn to an accepting listener. */
  readyMs: number;
  /** Every start's ms. */
  readyAllMs: number[];
  /** RSS after idling, MB (10^6 bytes; median over starts). */
  idleRssMB: number;
}

/** Starts the server `starts` times and measures it; `idleMs` is how long it idles before RSS is read. */
export async function measureStartup(command: ServerCommand, starts: number, idleMs: number): Promise<StartupFigures> {
  const ready: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < starts; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-startup-"));
    const port = await freePort();
    const { cmd, args } = command(port, dir);
    const t0 = performance.now();
    const server = startServer(cmd, args);
    try {
      ready.push(await waitForPort(port, 10_000, t0));
      await new Promise((r) => setTimeout(r, idleMs));
      rss.push(rssMiB(server.pid) * 1.048576);
    } catch (e) {
      throw new Error(`${cmd} did not start: ${(e as Error).message}\n${server.log()}`);
    } finally {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { readyMs: median(ready), readyAllMs: ready.map((x) => Math.round(x * 10) / 10), idleRssMB: median(rss) };
}
