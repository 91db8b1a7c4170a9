/**
 * A sharded node for the front's tests: shard-core's {@link ShardSet} with two shards (worker threads, or in this
 * thread) on a fresh temp dir, and the {@link Front} with node id 7 routing to them, on an OS-chosen port.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BrokerConfig } from "../../src/broker/config.ts";
import type { BrokerChannel } from "../../src/client/connection.ts";
import { systemClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { systemRandom } from "../../src/platform/random.ts";
import { ScramCredentialStore } from "../../src/security/scram-credentials.ts";
import { Front } from "../../src/shard/front/front.ts";
import { ShardSet } from "../../src/shard/shard-host.ts";
import { testLogger } from "../support/broker.ts";

/** The node id clients must see. */
export const FRONT_NODE_ID = 7;

/** Settings of a node with one SASL_PLAINTEXT (PLAIN) listener, users admin (a super user) and alice, and Kafka's authorizer on; every password is `<user>-pw`. */
export const SASL_ACL_SETTINGS: Record<string, string> = {
  listeners: "SASL_PLAINTEXT://127.0.0.1:0",
  "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN",
  "listener.name.sasl_plaintext.plain.sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-pw" user_alice="alice-pw";',
  "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
  "super.users": "User:admin",
};

/** A front and its two shards. */
export interface FrontOverShards {
  /** "127.0.0.1:port" of the front. */
  bootstrap: string;
  /** The front's port. */
  port: number;
  front: Front;
  /** The shards. */
  shards: ShardSet;
  /** The shard leading `topic`-`partition` (-1 when unknown). */
  ownerOf(topic: string, partition: number): number;
  /** Partition count of `topic` (0 when unknown). */
  partitionsOf(topic: string): number;
  /** A channel to shard `k` directly (bypassing the front). */
  openShard(k: number): Promise<BrokerChannel>;
  /** Stops the front and the shards; removes the data dir. */
  close(): Promise<void>;
}

/** Starts two shards (worker threads unless `inThread`) and the front over them. */
export async function startFrontOverShards(opts: { inThread?: boolean; extra?: Record<string, string> } = {}): Promise<FrontOverShards> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-front-"));
  const config = new BrokerConfig(new Map(Object.entries({
    "listeners": "PLAINTEXT://127.0.0.1:0",
    "node.id": String(FRONT_NODE_ID),
    "log.dirs": dir,
    "runnel.shards": "2",
    "num.partitions": "4",
    "offsets.topic.num.partitions": "4",
    "transaction.state.log.num.partitions": "4",
    "group.initial.rebalance.delay.ms": "0",
    ...opts.extra,
  })));
  const logger = testLogger();
  let shards: ShardSet | null = null;
  let front: Front | null = null;
  const close = async () => {
    await front?.stop();
    await shards?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    shards = await ShardSet.start(config, { inThread: opts.inThread ?? false, logger, onFatal: (r) => logger.error(`FATAL ${r}`) });
    const set = shards;
    front = await Front.start({ config, shards: set, scram: new ScramCredentialStore(set.metadata, (r) => set.metadata.putConfigRecord(r)), clock: systemClock, fs: nodeFileSystem, random: systemRandom, logger });
    const port = front.port();
    return {
      bootstrap: `127.0.0.1:${port}`,
      port,
      front,
      shards: set,
      ownerOf: (t, p) => set.metadata.partitionState(t, p)?.leader ?? -1,
      partitionsOf: (t) => set.metadata.topic(t)?.partitions ?? 0,
      openShard: (k) => set.open(k, { remote: "test:1", principal: "User:ANONYMOUS", listenerName: "PLAINTEXT", clientId: "test" }),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Reads `topic` from the beginning with a kafkajs consumer until `count` values came, then leaves; the values as strings. */
export async function consumeValues(consumer: import("kafkajs").Consumer, topic: string, count: number): Promise<string[]> {
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const got: string[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({ eachMessage: async ({ message }) => {
      got.push(message.value!.toString());
      if (got.length === count) resolve();
    } });
  });
  await consumer.disconnect();
  return got;
}
