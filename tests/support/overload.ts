/**
 * Bounded overload generators against a broker on 127.0.0.1, shared by tests/broker/overload-keeps-serving.test.ts
 * and bench/overload.ts: idle connections, slow-loris senders, huge frame announcements and a client pipelining
 * requests without reading. Every loop is bounded in count and time; `stop()` closes every socket it opened.
 */
import * as net from "node:net";
import { readFileSync } from "node:fs";
import { spawn } from "node:child_process";

/** A running load; stop() ends it and closes its sockets. */
export interface Load {
  /** Sockets that connected. */
  connected: number;
  /** Sockets the broker closed. */
  closedByBroker: number;
  /** Ends the load. */
  stop(): void;
}

function connectOne(port: number): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => resolve(s));
    s.once("error", () => {
      s.destroy();
      resolve(null);
    });
  });
}

/** Opens `n` sockets, `concurrency` at a time; each gets `onOpen` once connected. */
async function openMany(port: number, n: number, onOpen: (s: net.Socket, load: Load) => void, concurrency = 200): Promise<Load & { sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const load = {
    sockets,
    connected: 0,
    closedByBroker: 0,
    stopped: false,
    stop() {
      load.stopped = true;
      for (const s of sockets) s.destroy();
    },
  };
  let next = 0;
  const worker = async () => {
    while (next < n && !load.stopped) {
      next++;
      const s = await connectOne(port);
      if (s === null) continue;
      sockets.push(s);
      load.connected++;
      s.on("error", () => {});
      s.on("close", () => {
        if (!load.stopped) load.closedByBroker++;
      });
      onOpen(s, load);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return load;
}

function sizePrefix(size: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, size);
  return b;
}

/** `n` connections that connect and send nothing. */
export function idleConnections(port: number, n: number): Promise<Load> {
  return openMany(port, n, () => {});
}

/** `n` connections announcing a `announce`-byte frame and then sending one byte every `dripMs`, at most `maxDrips` times. */
export async function slowLoris(port: number, n: number, announce = 1 << 20, dripMs = 500, maxDrips = 120): Promise<Load> {
  const timers = new Set<ReturnType<typeof setInterval>>();
  const load = await openMany(port, n, (s) => {
    s.write(sizePrefix(announce));
    let drips = 0;
    const t = setInterval(() => {
      if (s.destroyed || ++drips > maxDrips) {
        clearInterval(t);
        timers.delete(t);
        return;
      }
      s.write(new Uint8Array([0]));
    }, dripMs);
    timers.add(t);
  });
  const stop = load.stop;
  load.stop = () => {
    for (const t of timers) clearInterval(t);
    stop();
  };
  return load;
}

/** `n` connections each announcing a frame of `announce` bytes (2 GiB - 1 by default) and sending `send` bytes of it. */
export function hugeAnnouncements(port: number, n: number, announce = 2 ** 31 - 1, send = 64 * 1024): Promise<Load> {
  return openMany(port, n, (s) => {
    s.write(sizePrefix(announce));
    s.write(new Uint8Array(send));
  });
}

/** An ApiVersions v3 request frame with correlation id `id`. */
function apiVersionsFrame(id: number): Uint8Array {
  const clientId = new TextEncoder().encode("pipeliner");
  const body = [0, 18, 0, 3, (id >>> 24) & 255, (id >>> 16) & 255, (id >>> 8) & 255, id & 255, 0, clientId.length, ...clientId, 0, 2, 0x74, 2, 0x31, 0];
  // header v2: apiKey, version, correlation id, client id (int16 length), tagged fields; body: compact strings "t", "1", tags
  return new Uint8Array([...sizePrefix(body.length), ...body]);
}

/** One connection writing `count` requests back to back and never reading a response. */
export async function pipeliningClient(port: number, count: number): Promise<Load> {
  return openMany(port, 1, (s) => {
    s.pause(); // never read: the broker's responses back up into its send buffer
    const frames: Uint8Array[] = [];
    for (let i = 0; i < count; i++) frames.push(apiVersionsFrame(i + 1));
    s.write(Buffer.concat(frames));
  });
}

/** This process's hard open-file limit (what a child's soft limit may be raised to), or null when unknown. */
export function openFileHardLimit(): number | null {
  try {
    const m = /^Max open files\s+\S+\s+(\d+|unlimited)\s/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return m === null ? null : m[1] === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    return null;
  }
}

/** Resident and peak resident memory of process `pid` in bytes (Linux /proc). */
export function processMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** The overload cases by name, for {@link startLoadProcess}. */
export const LOADS: Record<string, (port: number) => Promise<Load>> = {
  idle: (port) => idleConnections(port, 10_000),
  "idle-1000": (port) => idleConnections(port, 1000),
  loris: (port) => slowLoris(port, 500),
  huge: async (port) => {
    const over = await hugeAnnouncements(port, 100);
    const within = await hugeAnnouncements(port, 100, 60 * 1024 * 1024, 3 * 1024 * 1024);
    return { connected: over.connected + within.connected, closedByBroker: over.closedByBroker + within.closedByBroker, stop: () => (over.stop(), within.stop()) };
  },
  pipelined: (port) => pipeliningClient(port, 10_000),
  all: async (port) => {
    const loads: Load[] = [];
    for (const name of ["idle", "loris", "huge", "pipelined"]) loads.push(await LOADS[name](port));
    return { connected: loads.reduce((n, l) => n + l.connected, 0), closedByBroker: 0, stop: () => loads.forEach((l) => l.stop()) };
  },
};

/** A load running in its own process (so its sockets get their own open-file limit). */
export interface LoadProcess {
  /** Sockets that connected. */
  connected: number;
  /** Stops the load and waits for the process to exit. */
  stop(): Promise<void>;
}

/**
 * Runs load `name` against `port` in a child process whose soft open-file limit is raised to `openFiles` by a shell
 * (`ulimit -n`), so 10,000 sockets fit whatever this process's limit; resolves once the load is in place.
 */
export function startLoadProcess(name: string, port: number, openFiles: number): Promise<LoadProcess> {
  const bun = new URL("../../node_modules/.bin/bun", import.meta.url).pathname;
  const child = spawn("bash", ["-c", `ulimit -n ${openFiles} && exec "$0" "$@"`, bun, new URL(import.meta.url).pathname, name, String(port)], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`load ${name} exited (${code}) before it was ready: ${err}`)));
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /^ready (\d+)$/m.exec(out);
      if (m === null) return;
      child.removeAllListeners("exit");
      resolve({
        connected: Number(m[1]),
        stop: () =>
          new Promise<void>((res) => {
            child.once("exit", () => res());
            child.stdin!.end();
          }),
      });
    });
  });
}

// As a program: `bun tests/support/overload.ts NAME PORT` runs a load, prints "ready N", and stops when stdin ends.
if (import.meta.main) {
  const [name, port] = process.argv.slice(2);
  const load = await LOADS[name](Number(port));
  process.stdout.write(`ready ${load.connected}\n`);
  process.stdin.on("end", () => {
    load.stop();
    process.exit(0);
  });
  process.stdin.resume();
}

/** CPU seconds (user + system) process `pid` has used so far (Linux /proc). */
export function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
}
