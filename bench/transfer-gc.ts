/**
 * How often a JS heap collects because ArrayBuffers arrive from another thread (docs/sharding.md, the produce hop):
 * the main thread and a worker pass `--buffers` buffers of `--kib` KiB back and forth `--mb` MB in each direction,
 * either transferred with every message (`transfer`: what the port connection does with a forwarded frame and its
 * give-back), or SharedArrayBuffers posted with every message (`posted`: shared, not moved), or SharedArrayBuffers
 * shared once at the start (`shared`: only slot numbers cross). Neither side allocates a
 * buffer after the start. The measurement runs in a child process with `BUN_JSC_logGC=1` and counts each heap's
 * collections and their time from its log. Bun only.
 *
 * Usage: bun bench/transfer-gc.ts [--mb 1000] [--kib 256] [--buffers 8]
 */
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { mb: { type: "string", default: "1000" }, kib: { type: "string", default: "256" }, buffers: { type: "string", default: "8" }, child: { type: "string" } } });
const BYTES = Number(values.kib) * 1024;
const ROUNDS = Math.ceil((Number(values.mb) * 1e6) / BYTES);
const BUFFERS = Number(values.buffers);

declare const self: { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown, t?: Transferable[]): void } | undefined;

if (values.child === "worker") {
  // Echoes what arrives: a transferred buffer goes back transferred; a slot number of the shared buffers goes back as is.
  let shared: SharedArrayBuffer[] = [];
  self!.onmessage = (e: MessageEvent) => {
    const m = e.data;
    if (m instanceof ArrayBuffer) self!.postMessage(m, [m]);
    else if (m instanceof SharedArrayBuffer) {
      new Uint8Array(m)[0]++;
      self!.postMessage(m);
    }
    else if (Array.isArray(m)) shared = m;
    else {
      new Uint8Array(shared[m as number])[0]++; // touch it, as a reader would
      self!.postMessage(m);
    }
  };
} else if (values.child === "transfer" || values.child === "shared" || values.child === "posted") {
  const w = new Worker(new URL(import.meta.url).href + "?worker", { argv: ["--child", "worker"] } as WorkerOptions);
  const mode = values.child;
  let sent = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const done = new Promise<void>((resolve) => {
    let back = 0;
    w.onmessage = (e) => {
      back++;
      if (sent < ROUNDS) {
        sent++;
        if (mode === "transfer") w.postMessage(e.data, [e.data]);
        else w.postMessage(e.data);
      } else if (back === sent) resolve();
    };
  });
  if (mode === "transfer") {
    for (let i = 0; i < BUFFERS; i++, sent++) {
      const b = new ArrayBuffer(BYTES);
      w.postMessage(b, [b]);
    }
  } else if (mode === "posted") {
    for (let i = 0; i < BUFFERS; i++, sent++) w.postMessage(new SharedArrayBuffer(BYTES));
  } else {
    w.postMessage(Array.from({ length: BUFFERS }, () => new SharedArrayBuffer(BYTES)));
    for (let i = 0; i < BUFFERS; i++, sent++) w.postMessage(i);
  }
  await done;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ mode, seconds: (performance.now() - t0) / 1000, cpuMs: (cpu.user + cpu.system) / 1000, mb: (sent * BYTES) / 1e6 }));
  w.terminate();
} else {
  const rows: Record<string, string | number>[] = [];
  for (const mode of ["transfer", "shared", "posted", "transfer", "shared", "posted"]) {
    const r = spawnSync(process.execPath, [new URL(import.meta.url).pathname, "--child", mode, "--mb", values.mb, "--kib", values.kib, "--buffers", values.buffers], { env: { ...process.env, BUN_JSC_logGC: "1" }, encoding: "utf8", maxBuffer: 1 << 28 });
    const result = JSON.parse(r.stdout.trim().split("\n").pop()!);
    const heaps = new Map<string, { n: number; ms: number }>();
    for (const m of r.stderr.matchAll(/\[GC<(0x[0-9a-f]+)>: START .*?cycle ([\d.]+)ms END\]/g)) {
      const h = heaps.get(m[1]) ?? { n: 0, ms: 0 };
      h.n++;
      h.ms += Number(m[2]);
      heaps.set(m[1], h);
    }
    const busiest = [...heaps.values()].sort((a, b) => b.n - a.n).slice(0, 2);
    rows.push({
      mode,
      "MB each way": Math.round(result.mb),
      "collections (two busiest heaps)": busiest.map((h) => h.n).join(" + "),
      "collections per GB received": ((busiest.reduce((n, h) => n + h.n, 0) / 2 / result.mb) * 1000).toFixed(0),
      "GC ms": busiest.reduce((n, h) => n + h.ms, 0).toFixed(0),
      "CPU ms/MB (both threads)": (result.cpuMs / result.mb).toFixed(3),
      "MB/s": Math.round(result.mb / result.seconds),
    });
  }
  console.table(rows);
}
