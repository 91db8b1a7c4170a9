/**
 * A node with `runnel.shards` > 1 (docs/sharding.md): the shards ({@link ShardSet}, worker threads) and, on this
 * thread, the front that clients talk to on the node's listeners. What `runnel start` runs instead of a `Broker`.
 */
import type { BrokerConfig } from "../broker/config.ts";
import { consoleLogger, type BrokerLogger } from "../broker/broker.ts";
import { systemClock } from "../platform/clock.ts";
import { nodeFileSystem } from "../platform/fs.ts";
import { systemRandom } from "../platform/random.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { ScramCredentialStore } from "../security/scram-credentials.ts";
import { Front } from "./front/front.ts";
import { reusePortSupported } from "../platform/net.ts";
import { ShardSet } from "./shard-host.ts";

/** What a sharded node runs with. */
export interface ShardedNodeDeps {
  /** Logger of the host, the in-thread parts and the front (default: stderr). */
  logger?: BrokerLogger;
  /** A shard died or shut itself down after the start: the process should exit with an error. */
  onFatal?: (reason: string) => void;
  /** Test-only: the shards run without fdatasync (`RUNNEL_UNSAFE_SKIP_FDATASYNC`, src/cli/start.ts). */
  unsafeSkipFdatasync?: boolean;
  /** The module each shard's worker runs (tests inject a hung shard; default: the shard worker). */
  shardWorkerModule?: string | URL;
}

/** A running sharded node. */
export interface ShardedNode {
  /** The shards. */
  readonly shards: ShardSet;
  /** The front. */
  readonly front: Front;
  /** The bound port of listener `name` (default: the first). */
  port(name?: string): number;
  /** Stops the front (clients first), then every shard. */
  stop(): Promise<void>;
}

/** Starts the shards of `config`'s node, then the front on its listeners; resolves once clients can connect. */
export async function startShardedNode(config: BrokerConfig, deps: ShardedNodeDeps = {}): Promise<ShardedNode> {
  const logger = deps.logger ?? consoleLogger;
  const shards = await ShardSet.start(config, { logger, onFatal: deps.onFatal, unsafeSkipFdatasync: deps.unsafeSkipFdatasync, workerModule: deps.shardWorkerModule });
  let front: Front;
  try {
    // The front reads SCRAM credentials from the node's store; they change only through the shards' admin APIs.
    const scram = new ScramCredentialStore(shards.metadata, () => Promise.reject(new KafkaError(ErrorCode.NOT_CONTROLLER, "the front of a sharded node changes no credentials")));
    // Every shard thread accepts clients too (runnel.shards.accept) where SO_REUSEPORT spreads connections; else
    // this thread's front accepts them all.
    const accept = config.bool("runnel.shards.accept") && reusePortSupported();
    front = await Front.start({ config, shards, scram, clock: systemClock, fs: nodeFileSystem, random: systemRandom, logger, reusePort: accept, nodeConnections: shards.nodeConnections });
    if (accept) logger.info(`${await shards.startFronts(config, front.boundPorts(), logger)} of ${shards.count} shard threads accept clients too`);
  } catch (e) {
    await shards.stop();
    throw e;
  }
  return {
    shards,
    front,
    port: (name) => front.port(name),
    async stop() {
      await front.stop();
      await shards.stop();
    },
  };
}
