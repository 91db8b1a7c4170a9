/**
 * What one MessagePort message costs on this runtime (docs/sharding.md, "Frame slots"; the produce hop): the main
 * thread and a worker, joined by a MessageChannel whose far end was moved to the worker (as a sharded node's front
 * and shard are), pass `--messages` messages of one kind. Kinds, the messages a forwarded Produce frame costs:
 * `number` (an acknowledgement), `slot` (`{ slot, length }`, a frame named by its slot), `free` (`{ free }`), and
 * `buffer` (a 100-byte transferred ArrayBuffer, an answer). Two patterns: `pingpong` (each message answered before
 * the next is sent: every message wakes the other thread, as frames a few hundred microseconds apart do) and
 * `burst` (`--burst` messages sent in one turn, then one answer: what a receiver that is already busy sees). Prints
 * the process's CPU microseconds per message (both threads, sender and receiver), wall microseconds per message,
 * and the load average.
 *
 * Usage: bun bench/port-message-cost.ts [--messages 200000] [--burst 16] [--kinds number,slot,free,buffer]
 */
import { parseArgs } from "node:util";
import * as os from "node:os";
import * as threads from "node:worker_threads";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "200000" },
    burst: { type: "string", default: "16" },
    kinds: { type: "string", default: "number,slot,free,buffer" },
  },
});
const MESSAGES = Number(values.messages);
const BURST = Number(values.burst);

if (!threads.isMainThread) {
  // Worker: answers each message (ping-pong) or every BURST-th one (burst) with a number on the same port.
  threads.parentPort!.once("message", ({ port }: { port: MessagePort }) => {
    let n = 0;
    let every = 1;
    port.onmessage = (e: MessageEvent) => {
      const m = e.data;
      if (typeof m === "object" && m !== null && typeof m.every === "number") {
        every = m.every;
        n = 0;
        port.postMessage(-1);
        return;
      }
      if (++n % every === 0) port.postMessage(n);
    };
  });
} else {
  const worker = new threads.Worker(new URL(import.meta.url));
  const channel = new MessageChannel();
  worker.postMessage({ port: channel.port2 }, [channel.port2 as unknown as threads.Transferable]);
  const port = channel.port1;
  let onAnswer: (n: number) => void = () => {};
  port.onmessage = (e: MessageEvent) => onAnswer(e.data as number);
  const answer = () => new Promise<number>((r) => (onAnswer = r));

  const send = (kind: string, i: number): void => {
    if (kind === "number") port.postMessage(1048576);
    else if (kind === "slot") port.postMessage({ slot: i & 15, length: 262_087 });
    else if (kind === "free") port.postMessage({ free: i & 15 });
    else {
      const b = new ArrayBuffer(100);
      port.postMessage(b, [b]);
    }
  };

  const run = async (kind: string, pattern: "pingpong" | "burst") => {
    const every = pattern === "pingpong" ? 1 : BURST;
    port.postMessage({ every });
    await answer();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < MESSAGES; i += every) {
      const a = answer();
      for (let j = 0; j < every; j++) send(kind, i + j);
      await a;
    }
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    // Each round also carries one answer (a number) back.
    return { kind, pattern, cpuUsPerMessage: (cpu.user + cpu.system) / MESSAGES, wallUsPerMessage: (wall * 1000) / MESSAGES };
  };

  console.log(`port message cost: ${MESSAGES} messages per row, burst ${BURST}, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)}`);
  console.log("kind    pattern   CPU us/message  wall us/message");
  for (const kind of values.kinds.split(",")) {
    for (const pattern of ["pingpong", "burst"] as const) {
      const r = await run(kind, pattern);
      console.log(`${kind.padEnd(7)} ${pattern.padEnd(9)} ${r.cpuUsPerMessage.toFixed(2).padStart(14)}  ${r.wallUsPerMessage.toFixed(2).padStart(15)}`);
    }
  }
  console.log(`load ${os.loadavg()[0].toFixed(2)}`);
  port.close();
  await worker.terminate();
}
