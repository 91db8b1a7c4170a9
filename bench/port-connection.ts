/**
 * Throughput of one port connection (src/platform/port-connection.ts) from the main thread to a worker: the cost of
 * the hop between the front and a shard, without Kafka around it. The main thread writes `--chunk-kib` views (from
 * one reused source buffer, `--views` per write, as a Fetch response is several views) as fast as the window lets
 * it; the worker counts what arrives. Prints MB/s and the process's CPU ms per MB.
 *
 * Usage: bun bench/port-connection.ts [--mb 2000] [--chunk-kib 1024] [--views 4]
 */
import { parseArgs } from "node:util";
import { messagePortPair, spawnWorker } from "../src/platform/worker.ts";
import { openPortConnection } from "../src/platform/port-connection.ts";

const { values } = parseArgs({ options: { mb: { type: "string", default: "2000" }, "chunk-kib": { type: "string", default: "1024" }, views: { type: "string", default: "4" } } });
const totalBytes = Number(values.mb) * 1e6;
const chunk = Number(values["chunk-kib"]) * 1024;
const views = Number(values.views);
const source = new Uint8Array(chunk).fill(42);
const parts = Array.from({ length: views }, (_, i) => source.subarray((i * chunk) / views, ((i + 1) * chunk) / views));

const worker = spawnWorker<{ port: MessagePort; total: number }, { done: number }>(new URL("./port-connection-sink.ts", import.meta.url), {});
const [mine, theirs] = messagePortPair();
worker.post({ port: theirs, total: totalBytes }, [theirs]);
const finished = new Promise<void>((r) => worker.onMessage(() => r()));
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let sent = 0;
let resume: () => void = () => {};
const conn = openPortConnection(mine, "sink", () => ({ onData() {}, onDrain: () => resume(), onClose() {} }));
while (sent < totalBytes) {
  const ok = conn.write(parts);
  sent += chunk;
  if (!ok) await new Promise<void>((r) => (resume = r));
  else if (sent % (16 * chunk) === 0) await new Promise((r) => setImmediate(r));
}
await finished;
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const mb = sent / 1e6;
console.log(`port connection: ${mb.toFixed(0)} MB in ${views}-view writes of ${values["chunk-kib"]} KiB: ${(mb / (ms / 1000)).toFixed(0)} MB/s, CPU ${((cpu.user + cpu.system) / 1000 / mb).toFixed(3)} ms/MB (both threads)`);
conn.close();
await worker.terminate();
