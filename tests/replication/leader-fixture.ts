/** The leader side of the replication tests: one running broker that a follower built in the test fetches from. */
import * as fs from "node:fs";
import { Broker } from "../../src/broker/broker.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { LocalMetadataStore } from "../../src/cluster/metadata-store.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { testLogger } from "../support/broker.ts";

/**
 * Starts node 1 as a leader: its metadata store and log dir under `${dir}/leader`, a PLAINTEXT listener on
 * 127.0.0.1 at a port the OS picks, plus the broker configs in `extra`; its log lines go to `lines`.
 */
export async function startTestLeader(dir: string, extra: Record<string, string> = {}, lines: string[] = []): Promise<{ leader: Broker; store: LocalMetadataStore }> {
  fs.mkdirSync(`${dir}/leader`, { recursive: true });
  const store = new LocalMetadataStore(nodeFileSystem, `${dir}/leader`);
  const config = new BrokerConfig(new Map([["listeners", "PLAINTEXT://127.0.0.1:0"], ["log.dirs", `${dir}/leader`], ["node.id", "1"], ...Object.entries(extra)]));
  const leader = await Broker.start(config, { metadata: store, logger: testLogger(lines) });
  return { leader, store };
}
