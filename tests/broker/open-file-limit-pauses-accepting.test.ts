/**
 * At the open-file limit the broker stops accepting instead of failing accept() in a loop: a broker process with a
 * soft limit of 700 descriptors caps its connections at what the reserve and the log files' share
 * (`log.open.files.max`, half by default) leave, 318, refuses the rest of
 * 1,000 connection attempts while it is full, says so in its log (then a new connect is refused, every accepting
 * thread of a sharded node having closed its listening socket), and once the load goes away accepts again and
 * serves a kcat round trip. A sharded node (RUNNEL_TEST_SHARDS=2) holds at most its node-wide share of the same
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
import { acceptingThreads } from "../support/sharded-test-broker.ts";
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

const skip = haveCommand("kcat") ? false : "kcat is not installed (tests/setup.sh installs it as root)";
const LIMIT = 700;

test("a broker at its open-file limit pauses accepting, then accepts and serves again", { skip, timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-fdlimit-"));
  const b = await startBrokerProcess("bun", ["--port", "0", "--data-dir", dir, "-o", "offsets.topic.num.partitions=1"], 20_000, {}, ["prlimit", `--nofile=${LIMIT}:${LIMIT}`]);
  try {
    const load = await startLoadProcess("idle-1000", b.port, 2000);
    // A sharded node (RUNNEL_TEST_SHARDS) splits the one process's limit among its threads: fewer connections.
    const shards = testShards();
    const cap = shards === 1 ? LIMIT - RESERVED_FDS - (logOpenFilesBudget(LIMIT, null) as number) : (shardedFdBudget(LIMIT, shards, null) as { connectionFds: number }).connectionFds;
    // Counted on the broker's side: the client also sees connects that the kernel completed in the backlog and
    // reset when the broker closed its listening socket (more of them the slower the broker reacts).
    // Counted once the broker says it is full: a sharded node's accepting threads may still be taking connections
    // from their own accept queues when the load's connects have completed.
    const full = new RegExp(`max.connections=${cap} open connections: not accepting`);
    for (let i = 0; i < 400 && !full.test(b.log()); i++) await new Promise((r) => setTimeout(r, 25));
    // A sharded node's thread that accepted one over the cap closes it at once: wait for that close, not past it.
    let held = connectionsHeld(b.child.pid!, b.port);
    for (let i = 0; i < 200 && held > cap && shards > 1; i++) {
      await new Promise((r) => setTimeout(r, 25));
      held = connectionsHeld(b.child.pid!, b.port);
    }
    assert.ok(held <= cap, `${held} connections held by the broker, at most ${cap}`);
    assert.ok(held >= cap - 5, `${held} connections held by the broker, about ${cap}`);
    // A single broker closes its listening socket when full, so some connects fail. On a sharded node a thread that
    // has not yet seen the node-wide count reach the cap accepts and at once closes the connection over it, so every
    // connect may complete at the TCP level there; what counts is what the node holds (above) and its log line.
    assert.ok(load.connected >= held, `${load.connected} of 1000 connects succeeded, ${held} held`);
    if (shards === 1) assert.ok(load.connected < 1000, `${load.connected} of 1000 connects succeeded`);
    assert.match(b.log(), new RegExp(`max.connections=${cap} open connections: not accepting`));
    // Once every accepting thread has said so (each logs after closing its listening socket), a new connect is
    // refused, on one broker or a sharded node alike.
    const threads = acceptingThreads(b.log().split("\n"));
    const paused = () => b.log().split("\n").filter((l) => full.test(l)).length;
    for (let i = 0; i < 400 && paused() < threads; i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(paused() >= threads, `every accepting thread paused:\n${b.log().slice(-3000)}`);
    const refused = await new Promise<string>((resolve) => {
      const sock = net.connect({ host: "127.0.0.1", port: b.port });
      sock.once("connect", () => (sock.destroy(), resolve("connected")));
      sock.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
    });
    assert.equal(refused, "ECONNREFUSED", "a full node accepts no new connection");
    await load.stop();
    for (let i = 0; i < 200 && !b.log().includes("again: accepting"); i++) await new Promise((r) => setTimeout(r, 25));
    assert.match(b.log(), /below max.connections=\d+ again: accepting/);
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
