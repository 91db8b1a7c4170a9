/**
 * Responses written as several pieces (a header, record views, a small tail: how a Fetch answer goes out) reach each
 * peer byte for byte and in order, also when the peers stop reading and the sockets refuse parts of writes: small
 * responses are copied into one buffer that every connection's next write reuses (src/platform/net.ts,
 * COALESCE_MAX_BYTES), so what a socket refused must have been copied out of it before another connection writes;
 * large ones go out as their own views. Two readers pause until writes to both returned false, then read everything.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { COALESCE_MAX_BYTES, connect, listen, type Connection } from "../../src/platform/net.ts";

const RESPONSES = 1000;
/** Responses from here on include large ones: the first refusals (socket buffers of a few MB full) are of small ones. */
const LARGE_FROM = 900;
const PEERS = 2;

/** Response `i`'s pieces to peer `peer`: small, later also large responses; every byte depends on (peer, response, position). */
function pieces(peer: number, i: number): Uint8Array[] {
  const big = i >= LARGE_FROM && i % 7 === 3;
  const sizes = big ? [74, COALESCE_MAX_BYTES, 38, 5000, 3] : [74, 1000 + ((i * 2654435761) % 20000), 38, 300 + (i % 5000), 3];
  let seq = 0;
  return sizes.map((n) => {
    const p = new Uint8Array(n);
    for (let k = 0; k < n; k++) p[k] = (peer * 101 + i * 31 + seq++ * 7) & 0xff;
    return p;
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

test("pieces written to two peers that do not read arrive whole and in order", async () => {
  const expected = Array.from({ length: PEERS }, (_, peer) => concat(Array.from({ length: RESPONSES }, (_, i) => pieces(peer, i)).flat()));
  const accepted: Connection[] = [];
  let bothAccepted!: () => void;
  const ready = new Promise<void>((resolve) => (bothAccepted = resolve));
  const server = await listen("127.0.0.1", 0, (c: Connection) => {
    accepted.push(c);
    if (accepted.length === PEERS) bothAccepted();
    return { onData() {}, onDrain() {}, onClose() {} };
  });

  const clients: Connection[] = [];
  const received: Uint8Array[][] = [];
  const arrived: Promise<void>[] = [];
  for (let peer = 0; peer < PEERS; peer++) {
    const parts: Uint8Array[] = [];
    received.push(parts);
    let got = 0;
    let allIn!: () => void;
    arrived.push(new Promise<void>((resolve) => (allIn = resolve)));
    await connect("127.0.0.1", server.port, (c) => {
      clients.push(c);
      c.pause();
      return {
        onData(chunk) {
          parts.push(chunk.slice());
          got += chunk.length;
          if (got >= expected[peer].length) allIn();
        },
        onDrain() {},
        onClose() {},
      };
    });
  }
  await ready;
  // Writes alternate between the two connections, without waiting for drains: a refused write still queues its bytes.
  const refused = accepted.map(() => 0);
  for (let i = 0; i < RESPONSES; i++) {
    for (let s = 0; s < PEERS; s++) {
      if (!accepted[s].write(pieces(s, i))) refused[s]++;
    }
  }
  assert.ok(refused.every((n) => n > 0), `both sockets refused some writes while their peers did not read (${refused})`);
  for (const c of clients) c.resume();
  await Promise.all(arrived);
  for (const c of clients) c.close();
  await server.close();

  // Accepted connection s wrote peer s's bytes; the client that received them is whichever got its first byte.
  for (const parts of received) {
    const all = concat(parts);
    const peer = expected.findIndex((e) => e[0] === all[0] && e[74] === all[74]);
    assert.ok(peer >= 0, "a reader got the start of one of the streams");
    assert.equal(all.length, expected[peer].length);
    const e = expected[peer];
    for (let k = 0; k < e.length; k++) if (all[k] !== e[k]) assert.fail(`stream ${peer} differs at byte ${k} of ${e.length}`);
  }
});
