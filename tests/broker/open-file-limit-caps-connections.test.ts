/**
 * At the open-file limit the broker never runs out of descriptors: a broker process with a soft limit of 700
 * descriptors caps its connections, served and waiting together, at what the reserve and the log files' share
 * (`log.open.files.max`, half by default) leave, 318, closes the rest of 1,000 connections at once as it accepts them
 * (a waiting connection holds a descriptor too, so none can wait there), says so in its log, and once the load goes
 * away serves a kcat round trip. A sharded node (RUNNEL_TEST_SHARDS=2) holds at most its node-wide share of the same
 * limit, over all its accepting threads together.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { startBrokerProcess, testShards } from "../support/broker-process.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { startLoadProcess } from "../support/overload.ts";
import { RESERVED_FDS, logOpenFilesBudget, shardedFdBudget } from "../../src/storage/file-handle-cache.ts";

/**
 * Established TCP connections that process `pid` holds on its local port `port`: the broker's side of its client
 * connections (IPv4). Matched by socket inode, since once the broker closes its listening socket the kernel may hand
 * the same port number to an unrelated outgoing connection.
 */
function connectionsHeld(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  return fs.readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1).filter((line) => {
    const f = line.trim().split(/\s+/); // sl local_address rem_address st ... inode (field 9)
    return f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === "01" && inodes.has(f[9]);
  }).length;
}

/**
 * Connections waiting in the kernel's accept queues of the listening sockets on `port` (all of them: a sharded node
 * may listen once per accepting thread). Field 4 of a LISTEN (0A) line is `tx_queue:rx_queue`, and for a listening
 * socket rx_queue is the accept queue's length.
 */
function acceptQueued(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let queued = 0;
  for (const line of fs.readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === "0A") queued += parseInt(f[4].split(":")[1], 16);
  }
  return queued;
}

const skip = haveCommand("kcat") ? false : "kcat is not installed (tests/setup.sh installs it as root)";
const LIMIT = 700;

test("a broker at its open-file limit holds at most the descriptors left for connections, closes the rest at once, then serves again", { skip, timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-fdlimit-"));
  const b = await startBrokerProcess("bun", ["--port", "0", "--data-dir", dir, "-o", "offsets.topic.num.partitions=1"], 20_000, {}, ["prlimit", `--nofile=${LIMIT}:${LIMIT}`]);
  try {
    const load = await startLoadProcess("idle-1000", b.port, 2000);
    // A sharded node (RUNNEL_TEST_SHARDS) splits the one process's limit among its threads: fewer connections.
    const shards = testShards();
    const cap = shards === 1 ? LIMIT - RESERVED_FDS - (logOpenFilesBudget(LIMIT, null) as number) : (shardedFdBudget(LIMIT, shards, null) as { connectionFds: number }).connectionFds;
    // Counted once the broker says it closed a connection over the descriptors (the connections served and waiting
    // hold them all then), on the broker's side: the load's connects all complete at the TCP level.
    const full = new RegExp(`max.connections=${cap} open connections: new connections to`);
    const overFds = /at once: the connections hold every descriptor left for them \((\d+):/;
    for (let i = 0; i < 400 && !overFds.test(b.log()); i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(overFds.exec(b.log())?.[1], String(cap), `closed over the ${cap} descriptors:\n${b.log().slice(-3000)}`);
    // The broker drains the rest of the load's connects from the kernel's queue by accepting and closing each at once;
    // one being closed still holds its descriptor for a moment, so count once the queue is empty (the load has
    // finished connecting, so nothing new arrives).
    for (let i = 0; i < 400 && acceptQueued(b.port) > 0; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(acceptQueued(b.port), 0, "the broker drained its accept queue");
    const held = connectionsHeld(b.child.pid!, b.port);
    assert.ok(held <= cap, `${held} connections held by the broker, at most ${cap}`);
    assert.ok(held >= cap - 5, `${held} connections held by the broker, about ${cap}`);
    assert.ok(load.connected >= held, `${load.connected} of 1000 connects succeeded, ${held} held`);
    assert.match(b.log(), full);
    // a new connection now is accepted and closed at once (the positive event: the broker closes it)
    const outcome = await new Promise<string>((resolve) => {
      const sock = net.connect({ host: "127.0.0.1", port: b.port });
      sock.once("close", () => resolve("closed"));
      sock.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
    });
    assert.ok(outcome === "closed" || outcome === "ECONNRESET", `a full node closes a new connection: ${outcome}`);
    assert.equal(connectionsHeld(b.child.pid!, b.port) <= cap, true, "still at most the cap");
    await load.stop();
    for (let i = 0; i < 200 && !/below max.connections=\d+ again: serving/.test(b.log()); i++) await new Promise((r) => setTimeout(r, 25));
    assert.match(b.log(), /below max.connections=\d+ again: serving/);
    const input = Array.from({ length: 1000 }, (_, i) => `v${i}`).join("\n") + "\n";
    const prod = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", "fd", "-X", "acks=all"], { input, timeoutMs: 60_000 });
    assert.equal(prod.code, 0, prod.stderr);
    const cons = await runProc("kcat", ["-C", "-b", b.bootstrap, "-t", "fd", "-o", "beginning", "-e", "-q"], { timeoutMs: 60_000 });
    assert.equal(cons.stdout.split("\n").filter((l) => l !== "").length, 1000);
    assert.doesNotMatch(b.log(), /EMFILE/);
  } finally {
    await b.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
