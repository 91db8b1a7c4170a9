/**
 * Shows how a response made of views reaches the kernel through src/platform/net.ts on the running runtime: a
 * listener writes one "response" of four chunks (8 bytes, a 4 MiB view, 5 bytes, a 2 MiB view of the same buffer)
 * with one Connection.write and a client reads it all back and checks the bytes. Run it under strace to see the
 * system calls (Bun: one sendto per chunk, straight from the views; Deno: writev with the chunks as iovecs):
 *
 *   strace -f -e trace=writev,sendto,sendmsg,write -o /tmp/bun.strace node_modules/.bin/bun bench/socket-views.ts
 *   strace -f -e trace=writev,sendto,sendmsg,write -o /tmp/deno.strace node_modules/.bin/deno run -A --no-check bench/socket-views.ts
 */
import { connect, listen } from "../src/platform/net.ts";

const BIG_VIEW_BYTES = 4 << 20;
const payload = new Uint8Array(BIG_VIEW_BYTES).map((_, i) => (i * 7) & 0xff);
const chunks = [new Uint8Array(8).fill(1), payload, new Uint8Array(5).fill(2), payload.subarray(0, BIG_VIEW_BYTES / 2)];
const expected = chunks.reduce((n, c) => n + c.length, 0);

const listener = await listen("127.0.0.1", 0, (conn) => {
  conn.write(chunks);
  return { onData() {}, onDrain() {}, onClose() {} };
});
const received: Uint8Array[] = [];
let got = 0;
await new Promise<void>((resolve) =>
  connect("127.0.0.1", listener.port, (conn) => ({
    onData(b) {
      received.push(b.slice());
      got += b.length;
      if (got >= expected) {
        conn.close();
        resolve();
      }
    },
    onDrain() {},
    onClose() {},
  })),
);
await listener.close();
const all = new Uint8Array(got);
let at = 0;
for (const b of received) {
  all.set(b, at);
  at += b.length;
}
let ok = got === expected;
at = 0;
for (const c of chunks) {
  for (let i = 0; ok && i < c.length; i++) ok = all[at + i] === c[i];
  at += c.length;
}
console.log(`${got} of ${expected} bytes received, ${ok ? "identical" : "DIFFERENT"}`);
if (!ok) process.exit(1);
