/**
 * `startTestBroker` under `RUNNEL_TEST_SHARDS=N` (N > 1): the node runs as `runnel start --shards N` in its own
 * process, exactly as shipped, with the same test defaults. Tests that only talk to it over the wire run unchanged;
 * of the in-process `Broker` only `createTopic` (through CreateTopics) and what the node's log says (`listenerPort`,
 * `nodeId`, `clusterId`) are offered, and any other use of `broker` throws, naming the test as one that cannot run
 * sharded (docs/sharding.md, "Tests").
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Broker, BrokerDeps } from "../../src/broker/broker.ts";
import { Admin } from "../../src/client/admin.ts";
import { startBrokerProcess, testShards, TEST_SHARDS_ENV } from "./broker-process.ts";
import type { TestBroker } from "./broker.ts";

/** The timestamp that starts each line of a node's log (`2026-12-05T06:21:50.552Z INFO ...`). */
const LOG_LINE_TIME = /^\d{4}-\d\d-\d\dT[\d:.]+Z (?=(?:INFO|WARN|ERROR) )/;

/** How long a sharded node may take to start on a loaded machine (it spawns a worker per shard). */
const SHARDED_START_TIMEOUT_MS = 90_000;

/**
 * The main front's line naming the node and every listener, logged once every accepting thread listens:
 * `front of node N listening on NAME://host:port, ... for K shards; T of K shard threads accept clients too`.
 */
const FRONT_LINE = /^(?!.*\[shard \d+\]).*front of node (\d+) listening on (.*) for \d+ shards;/m;
/** The host's line naming the cluster: `K shards serving (worker threads), cluster ID`. */
const CLUSTER_LINE = /^(?!.*\[shard \d+\]).*shards serving .*, cluster (\S+)$/m;

/** The part of `Broker` a sharded node offers a test: its Kafka port, creating topics over the wire, and what its log (`log()`) says. */
function wireBroker(bootstrap: string, shards: number, log: () => string): Broker {
  const front = () => {
    const m = FRONT_LINE.exec(log());
    if (m === null) throw new Error(`no front line in the sharded node's log:\n${log().slice(-2000)}`);
    return { nodeId: Number(m[1]), ports: new Map(m[2].split(", ").map((l) => [l.slice(0, l.indexOf("://")), Number(l.slice(l.lastIndexOf(":") + 1))])) };
  };
  const offered = {
    port: Number(bootstrap.slice(bootstrap.lastIndexOf(":") + 1)),
    get nodeId() {
      return front().nodeId;
    },
    get clusterId() {
      const m = CLUSTER_LINE.exec(log());
      if (m === null) throw new Error(`no cluster id in the sharded node's log:\n${log().slice(-2000)}`);
      return m[1];
    },
    listenerPort(name: string) {
      return front().ports.get(name) ?? -1;
    },
    async createTopic(name: string, partitions: number, replicationFactor: number, configs: Record<string, string>, validateOnly: boolean) {
      const admin = new Admin({ bootstrap, clientId: "test-helper" });
      try {
        await admin.connect();
        await admin.createTopics([{ name, numPartitions: partitions, replicationFactor, configs }], { validateOnly });
      } finally {
        await admin.close();
      }
      return null;
    },
  };
  return new Proxy(offered, {
    get(target, key) {
      if (key in target) return target[key as keyof typeof target];
      if (key === "then") return undefined; // not a thenable
      throw new Error(`this test reaches into the in-process Broker (broker.${String(key)}), which a node with ${TEST_SHARDS_ENV}=${shards} does not have: it runs single-shard only`);
    },
  }) as unknown as Broker;
}

/** Starts a sharded node process with the test defaults plus `overrides`; reuses `dir` when given (restart tests). */
export async function startShardedTestBroker(overrides: Record<string, string>, dir: string | undefined, logLines: string[] | undefined, deps: BrokerDeps): Promise<TestBroker> {
  if (Object.keys(deps).length > 0) throw new Error(`this test injects broker deps (${Object.keys(deps).join(", ")}) into an in-process Broker: it runs single-shard only, not under ${TEST_SHARDS_ENV}`);
  const dataDir = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "runnel-test-"));
  const settings: Record<string, string> = { "group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "4", ...overrides };
  const args = ["--port", "0", "--data-dir", dataDir, ...Object.entries(settings).flatMap(([k, v]) => ["-o", `${k}=${v}`])];
  if ("listeners" in overrides) args.splice(0, 2);
  const shards = testShards();
  const node = await startBrokerProcess("bun", args, SHARDED_START_TIMEOUT_MS);
  if (logLines) {
    // The node's whole log lines as they come (stderr, where it logs), for tests that wait for one; a timestamped
    // line becomes `LEVEL message`, as the in-process broker's test logger keeps it (tests/support/broker.ts).
    let at = 0;
    const take = () => {
      const all = node.log();
      const end = all.lastIndexOf("\n") + 1;
      if (end > at) logLines.push(...all.slice(at, end).split("\n").filter(Boolean).map((l) => l.replace(LOG_LINE_TIME, "")));
      at = Math.max(at, end);
    };
    take();
    node.child.stderr!.on("data", take);
  }
  return {
    port: node.port,
    bootstrap: node.bootstrap,
    broker: wireBroker(node.bootstrap, shards, () => node.log()),
    dir: dataDir,
    async stop(opts) {
      const exit = await node.stop("SIGTERM");
      if (!opts?.keepDir) fs.rmSync(dataDir, { recursive: true, force: true });
      if (exit !== 0) throw new Error(`the sharded node exited with ${exit} after SIGTERM:\n${node.log().slice(-4000)}`);
    },
  };
}

/**
 * How many threads accept the node's clients, each with its own listener sockets, TLS material and pause at
 * `max.connections`: 1 for a single broker; for a sharded node (its log `lines`) the main thread's front plus the
 * shard threads its listening line says accept clients too. The node logs that line once every accepting thread
 * listens, and the helpers return only after it, so it is there to read.
 */
export function acceptingThreads(lines: string[]): number {
  const front = lines.find((l) => FRONT_LINE.test(l));
  if (front === undefined) return 1;
  const said = /; (\d+) of \d+ shard threads accept clients too$/.exec(front);
  return 1 + (said === null ? 0 : Number(said[1]));
}
