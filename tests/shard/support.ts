/** Test support for shard tests: a node's shards started on a temp dir, and Runnel's client reaching them over ports. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BrokerConfig } from "../../src/broker/config.ts";
import type { Dialer } from "../../src/client/connection.ts";
import { ShardSet } from "../../src/shard/shard-host.ts";

/** A fresh temp data dir. */
export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "runnel-shards-"));
}

/** A node config of `shards` shards on `dataDir`. */
export function nodeConfig(dataDir: string, shards: number, extra: Record<string, string> = {}): BrokerConfig {
  return new BrokerConfig(new Map(Object.entries({ "log.dirs": dataDir, "runnel.shards": String(shards), "num.partitions": "1", "group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "4", ...extra })));
}

const quiet = { info: () => {}, warn: (m: string) => console.error(m), error: (m: string) => console.error(m) };

/** Starts the shards of a node (in this thread, or worker threads). */
export function startShards(dataDir: string, shards: number, inThread: boolean, extra: Record<string, string> = {}): Promise<ShardSet> {
  return ShardSet.start(nodeConfig(dataDir, shards, extra), { inThread, logger: quiet, onFatal: (r) => console.error(`FATAL ${r}`) });
}

/** A client dialer that reaches shard K at "shard-K:9092" (the shards' own registered endpoints) over ports. */
export function shardDialer(set: ShardSet): Dialer {
  return (host, _port, nodeId) => {
    const shard = nodeId >= 0 ? nodeId : Number(/^shard-(\d+)$/.exec(host)?.[1]);
    if (!Number.isInteger(shard)) throw new Error(`not a shard address: ${host}`);
    return set.open(shard, { remote: "test-client:1", remoteIp: "test-client" });
  };
}
