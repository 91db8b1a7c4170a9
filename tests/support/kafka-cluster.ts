/**
 * Starts a 3-node Apache Kafka KRaft cluster for the cluster differential tests: three combined broker+controller
 * nodes (node ids 1, 2, 3) on loopback ports the OS chose, one static quorum (controller.quorum.voters naming all
 * three), each node formatted with `kafka-storage format` and the same cluster id in its own temporary directory.
 * Resolves once every node lists all three brokers. `stopNode`/`startNode` take one node down and back (its
 * directory and ports kept); `stop()` stops all three (kafka-broker.ts stops each JVM).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KAFKA_PORT_ATTEMPTS, KafkaPortTakenError, kafkaRandomUuid, startKafka, type KafkaBroker, type KafkaOptions } from "./kafka-broker.ts";
import { RawClient } from "./raw-client.ts";
import { freePorts } from "../../bench/suite/processes.ts";

/** Nodes of the cluster. */
export const KAFKA_CLUSTER_SIZE = 3;
/** Longest the three nodes may take to list one another once each answers (ms). */
export const KAFKA_CLUSTER_FORM_TIMEOUT_MS = 60_000;

/** A running 3-node Kafka cluster. */
export interface KafkaCluster {
  /** The nodes, node id i + 1 at index i. */
  nodes: KafkaBroker[];
  /** Node id to PLAINTEXT port. */
  ports: ReadonlyMap<number, number>;
  /** The cluster id every node was formatted with. */
  clusterId: string;
  /** Stops node `id` (SIGTERM: Kafka's controlled shutdown), keeping its directory for {@link startNode}. */
  stopNode(id: number): Promise<void>;
  /** Starts node `id` again (after stopNode) on its directory and ports; resolves once it answers. */
  startNode(id: number): Promise<void>;
  /** Stops every node (and removes their directories). */
  stop(): Promise<void>;
}

/** Brokers listed by the Metadata answer of the node at `port` (0 when it does not answer). */
async function listedBrokers(port: number): Promise<number> {
  let c: RawClient | null = null;
  try {
    c = await RawClient.connect(port);
    const md = await c.request(3, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    return md.brokers.length;
  } catch {
    return 0;
  } finally {
    c?.close();
  }
}

/**
 * Formats and starts three Kafka nodes forming one KRaft quorum; `opts` (overrides, heap, features) applies to each.
 * Resolves once every node lists all three brokers; a failed start stops what did start. When a node's port was
 * taken before its JVM bound it, the whole cluster starts again on six new ports.
 */
export async function startKafkaCluster(opts: ClusterOptions = {}): Promise<KafkaCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startKafkaClusterOnce(opts);
    } catch (e) {
      // a port picked for a node was taken before its JVM bound it: pick all six again
      if (!(e instanceof KafkaPortTakenError) || attempt >= KAFKA_PORT_ATTEMPTS) throw e;
    }
  }
}

/** Options of every node of the cluster. */
type ClusterOptions = Omit<KafkaOptions, "dir" | "ports" | "nodeId" | "quorum" | "saslPlaintext">;

async function startKafkaClusterOnce(opts: ClusterOptions): Promise<KafkaCluster> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-kafka-cluster-"));
  let clusterId: string;
  try {
    clusterId = await kafkaRandomUuid(scratch);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  // all six ports at once: picks held together are distinct
  const picked = await freePorts(2 * KAFKA_CLUSTER_SIZE);
  const ids = Array.from({ length: KAFKA_CLUSTER_SIZE }, (_, i) => i + 1);
  const voters = ids.map((id) => `${id}@127.0.0.1:${picked[KAFKA_CLUSTER_SIZE + id - 1]}`).join(",");
  // the quorum needs a majority running before any node is ready: start all three together
  const started = await Promise.allSettled(ids.map((id) =>
    startKafka({ ...opts, nodeId: id, quorum: { clusterId, voters }, ports: { port: picked[id - 1], controllerPort: picked[KAFKA_CLUSTER_SIZE + id - 1] } })
  ));
  const nodes = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  const stopNode = (id: number) => nodes[id - 1].stop({ keepDir: true });
  const startNode = async (id: number) => {
    const old = nodes[id - 1];
    nodes[id - 1] = await startKafka({ ...opts, dir: old.dir, nodeId: id, quorum: { clusterId, voters }, ports: { port: old.port, controllerPort: old.controllerPort } });
  };
  const rejected = started.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  const failed = rejected.find((r) => r.reason instanceof KafkaPortTakenError) ?? rejected[0];
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const deadline = Date.now() + KAFKA_CLUSTER_FORM_TIMEOUT_MS;
  for (const n of nodes) {
    while ((await listedBrokers(n.port)) < KAFKA_CLUSTER_SIZE) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`the Kafka cluster did not form: the node on ${n.port} does not list ${KAFKA_CLUSTER_SIZE} brokers`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { nodes, ports: new Map(nodes.map((n, i) => [i + 1, n.port])), clusterId, stopNode, startNode, stop };
}
