import { test } from "node:test";
import assert from "node:assert/strict";
import { messagePortPair, spawnWorker } from "../../src/platform/worker.ts";
import { openPortConnection, PORT_CONNECTION_WINDOW_BYTES, refusePortConnection } from "../../src/platform/port-connection.ts";
import type { Connection } from "../../src/platform/net.ts";

const ECHO = new URL("./fixtures/echo-worker.ts", import.meta.url);
type In = { port: MessagePort; closeAfter?: number };
type Out = { closed: number; received: number };

/** Opens a port connection to the echo worker; resolves the bytes echoed and whether the close came from it. */
function echoSession(worker: ReturnType<typeof spawnWorker<In, Out>>, closeAfter?: number) {
  const [mine, theirs] = messagePortPair();
  worker.post({ port: theirs, closeAfter }, [theirs]);
  const got: Uint8Array[] = [];
  let drains = 0;
  let onClosed!: () => void;
  const closed = new Promise<void>((r) => (onClosed = r));
  const conn: Connection = openPortConnection(mine, "echo-worker", () => ({
    onData: (c) => void got.push(c.slice()),
    onDrain: () => void drains++,
    onClose: () => onClosed(),
  }));
  const bytes = () => Buffer.concat(got);
  return { conn, bytes, closed, drains: () => drains };
}

test("a worker echoes bytes over a port connection, in order, with back-pressure, and sees the close", { timeout: 60_000 }, async () => {
  const worker = spawnWorker<In, Out>(ECHO, {});
  const replies: Out[] = [];
  let replied!: () => void;
  const workerSawClose = new Promise<void>((r) => (replied = r));
  worker.onMessage((m) => {
    replies.push(m);
    replied();
  });
  const s = echoSession(worker);
  const sent: Uint8Array[] = [];
  let refused = false;
  for (let i = 0; i < 12; i++) {
    const a = new Uint8Array(1024 * 1024).fill(i);
    const b = Uint8Array.of(200 + i, i);
    sent.push(a, b);
    if (!s.conn.write([a, b])) refused = true;
  }
  assert.ok(refused, `12 MiB unacknowledged is over the ${PORT_CONNECTION_WINDOW_BYTES}-byte window`);
  const want = Buffer.concat(sent);
  while (s.bytes().length < want.length) await new Promise((r) => setTimeout(r, 5));
  assert.ok(Buffer.compare(s.bytes(), want) === 0, "the echo is byte for byte what was sent");
  assert.ok(s.drains() >= 1, "the writer was told when the window drained");
  s.conn.close();
  await workerSawClose;
  assert.deepEqual(replies, [{ closed: 1, received: want.length }]);
  await worker.terminate();
});

test("a close on the worker's end is seen by the main thread", { timeout: 60_000 }, async () => {
  const worker = spawnWorker<In, Out>(ECHO, {});
  const s = echoSession(worker, 3);
  s.conn.write([Uint8Array.of(1, 2, 3)]);
  await s.closed;
  assert.deepEqual([...s.bytes()], [1, 2, 3]);
  assert.equal(s.conn.write([Uint8Array.of(4)]), true, "writing to a closed connection is a no-op");
  let exit: Error | null | undefined;
  worker.onExit((e) => (exit = e));
  await worker.terminate();
  assert.equal(exit, null, "a terminated worker ended without error");
});

test("a worker that throws is reported as exited with its error", { timeout: 60_000 }, async () => {
  const worker = spawnWorker<In, Out>(ECHO, { crash: true });
  const error = await new Promise<Error | null>((r) => worker.onExit(r));
  assert.ok(error instanceof Error);
  assert.match(error.message, /asked to crash/);
  await worker.terminate();
});

test("a refused port connection is seen closed by the one who opened it", { timeout: 10_000 }, async () => {
  const [mine, theirs] = messagePortPair();
  const closed = new Promise<void>((resolve) => openPortConnection(mine, "nobody", () => ({ onData: () => {}, onDrain: () => {}, onClose: resolve })));
  refusePortConnection(theirs);
  await closed;
});
