/**
 * A port connection closed by its own acceptor while being accepted (`onConnection` refuses it: a connection quota,
 * say) tells the handler it returned: onClose once, as a same-thread pair (src/shard/local-connection.ts) and a
 * socket do, so whoever tracks open connections through the handler (src/shard/shard.ts `open`) lets it go; the
 * peer sees the close. Before, the handler never heard of the close (there was none yet when it happened).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { messagePortPair } from "../../src/platform/worker.ts";
import { openPortConnection } from "../../src/platform/port-connection.ts";

test("a port connection its acceptor closes while accepting it tells the handler once, and its peer", { timeout: 10_000 }, async () => {
  const [a, b] = messagePortPair();
  let peerClosed!: () => void;
  const peerSawClose = new Promise<void>((r) => (peerClosed = r));
  openPortConnection(a, "acceptor", () => ({ onData: () => {}, onDrain: () => {}, onClose: () => peerClosed() }));
  let closes = 0;
  let data = 0;
  openPortConnection(b, "client", (c) => {
    c.close(); // refused as it is accepted
    return { onData: () => void data++, onDrain: () => {}, onClose: () => void closes++ };
  });
  await peerSawClose;
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(closes, 1, "the refused connection's handler saw its close once");
  assert.equal(data, 0);
});
