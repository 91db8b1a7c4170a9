/**
 * A sharded node with its HTTP side for the tests of that side: `runnel start --shards N --http
 * http://127.0.0.1:0` as a process in a fresh data dir, its HTTP URL read from its log and ready.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startBrokerProcess, type BrokerProcess } from "./broker-process.ts";
import { HTTP_LINE, waitUntilReady } from "./http-broker.ts";
import { Consumer } from "../../src/client/consumer.ts";

/** How long the node may take to start on a loaded machine. */
const START_TIMEOUT_MS = 90_000;

/** A running sharded node with HTTP. */
export interface ShardedHttpNode {
  /** The process. */
  node: BrokerProcess;
  /** "http://127.0.0.1:port". */
  url: string;
  /** Its data dir. */
  dir: string;
  /** Stops it (SIGTERM), removes the dir; fails unless it exited with 0. */
  stop(): Promise<void>;
}

/** Starts a node of `shards` shards with `settings` (plus fast group joins and 4 offsets partitions). */
export async function startShardedHttpNode(shards: number, settings: Record<string, string> = {}): Promise<ShardedHttpNode> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-sharded-http-"));
  const all = { "offsets.topic.num.partitions": "4", "group.initial.rebalance.delay.ms": "0", ...settings };
  const node = await startBrokerProcess("bun", ["--port", "0", "--data-dir", dir, "--shards", String(shards), "--http", "http://127.0.0.1:0", ...Object.entries(all).flatMap(([k, v]) => ["-o", `${k}=${v}`])], START_TIMEOUT_MS);
  const stop = async () => {
    const exit = await node.stop("SIGTERM");
    fs.rmSync(dir, { recursive: true, force: true });
    if (exit !== 0) throw new Error(`the sharded node exited with ${exit}:\n${node.log().slice(-3000)}`);
  };
  const url = HTTP_LINE.exec(node.log())?.[1];
  if (url === undefined) {
    await stop();
    throw new Error("the sharded node logged no HTTP listener");
  }
  await waitUntilReady(url);
  return { node, url, dir, stop };
}

/** A consumer of group `groupId` reads some of `topic` from the earliest offsets, commits and leaves (the group is then Empty). */
export async function readSomeAndLeave(bootstrap: string, groupId: string, topic: string): Promise<void> {
  const consumer = new Consumer({ bootstrap, groupId, autoOffsetReset: "earliest", enableAutoCommit: false, maxPollRecords: 5 });
  try {
    await consumer.connect();
    consumer.subscribe([topic]);
    while ((await consumer.poll(1000)).length === 0);
    await consumer.commit();
  } finally {
    await consumer.close();
  }
}
