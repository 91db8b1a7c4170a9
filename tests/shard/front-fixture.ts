/**
 * A sharded front over two real shards for the front's tests: two in-process brokers in cluster mode (internal node
 * ids 0 and 1, every topic at replication factor 1, so each partition lives on exactly one of them) on a fresh
 * etcd, and a {@link Front} with node id 7 routing to them over TCP. It stands in for shard-core's worker shards
 * with the same contract (FrontShards); the front cannot tell the difference.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BrokerConfig } from "../../src/broker/config.ts";
import { BrokerConnection } from "../../src/client/connection.ts";
import { systemClock } from "../../src/platform/clock.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { systemRandom } from "../../src/platform/random.ts";
import { ScramCredentialStore } from "../../src/security/scram-credentials.ts";
import { Front } from "../../src/shard/front/front.ts";
import type { FrontShards } from "../../src/shard/front/front-shards.ts";
import { startTestBroker, testLogger, type TestBroker } from "../support/broker.ts";
import { TestEtcd } from "../support/etcd.ts";
import { ControlPlane } from "../../src/cluster/control-plane.ts";
import { clusterView } from "../../src/cli/start.ts";

/** The node id clients must see. */
export const FRONT_NODE_ID = 7;

/** A front and its two shards. */
export interface FrontOverShards {
  /** "127.0.0.1:port" of the front. */
  bootstrap: string;
  /** The front's port. */
  port: number;
  front: Front;
  /** The shards (index = internal node id). */
  shards: TestBroker[];
  /** The shard leading `topic`-`partition`. */
  ownerOf(topic: string, partition: number): number;
  /** Stops the front, the shards and etcd; removes their directories. */
  close(): Promise<void>;
}

/** Starts etcd, two shards and the front. */
export async function startFrontOverShards(extra: Record<string, string> = {}): Promise<FrontOverShards> {
  const etcd = await TestEtcd.start();
  const shards: TestBroker[] = [];
  const planes: ControlPlane[] = [];
  let front: Front | null = null;
  const close = async () => {
    await front?.stop();
    for (const s of shards) await s.stop();
    for (const p of planes) await p.close();
    await etcd.close();
  };
  try {
    const common = {
      "metadata.etcd.endpoints": etcd.endpoint,
      "offsets.topic.replication.factor": "1",
      "transaction.state.log.replication.factor": "1",
      "transaction.state.log.num.partitions": "4",
      "default.replication.factor": "1",
      "min.insync.replicas": "1",
      "num.partitions": "4",
      ...extra,
    };
    for (const id of [0, 1]) {
      const plane = await ControlPlane.start({ endpoints: [etcd.endpoint], nodeId: id, sessionTimeoutMs: 10_000 });
      planes.push(plane);
      shards.push(await startTestBroker({ ...common, "node.id": String(id) }, undefined, undefined, { metadata: plane.store, cluster: clusterView(plane) }));
    }
    const metadata = shards[0].broker.metadataView;
    // Topics are spread over the brokers registered when they are created: wait until shard 0 sees both.
    for (const deadline = Date.now() + 30_000; metadata.brokers().length < 2; ) {
      if (Date.now() > deadline) throw new Error("shard 1 never registered");
      await new Promise((r) => setTimeout(r, 20));
    }
    const set: FrontShards = {
      count: 2,
      metadata,
      open: (k, info) => BrokerConnection.open("127.0.0.1", shards[k].port, k, { clientId: info.clientId ?? "front", maxInFlight: 100 }),
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-front-"));
    fs.rmSync(dir, { recursive: true, force: true });
    const config = new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["node.id", String(FRONT_NODE_ID)], ["log.dirs", dir]]));
    front = await Front.start({ config, shards: set, scram: new ScramCredentialStore(metadata, () => Promise.reject(new Error("read only"))), clock: systemClock, fs: nodeFileSystem, random: systemRandom, logger: testLogger() });
    const port = front.port();
    return { bootstrap: `127.0.0.1:${port}`, port, front, shards, ownerOf: (t, p) => metadata.partitionState(t, p)?.leader ?? -1, close };
  } catch (e) {
    await close();
    throw e;
  }
}
