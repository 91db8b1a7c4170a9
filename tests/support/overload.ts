/**
 * Bounded overload generators against a broker on 127.0.0.1, shared by tests/broker/overload-keeps-serving.test.ts
 * and bench/overload.ts: idle connections, slow-loris senders, huge frame announcements and a client pipelining
 * requests without reading. Every loop is bounded in count and time; `stop()` closes every socket it opened.
 */
import * as net from "node:net";
import { readFileSync } from "node:fs";

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

/** Resident and peak resident memory of process `pid` in bytes (Linux /proc). */
export function processMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}
