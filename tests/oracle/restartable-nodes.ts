/**
 * The two brokers of a restart comparison (restart-*-random-match-kafka): Apache Kafka 4.4 and Runnel (a node process,
 * sharded under RUNNEL_TEST_SHARDS=2), each restartable on its own data. A Kafka restart is always a clean stop
 * (SIGTERM); a Runnel restart is a SIGTERM or a SIGKILL.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test, after } from "node:test";
import { kafkaUnavailable, startKafka, type KafkaBroker } from "../support/kafka-broker.ts";
import { diff, INTENTIONAL_DIFFERENCES, normalize, versionTable } from "./differential.ts";
import { startBrokerProcess, type BrokerProcess } from "../support/broker-process.ts";
import { RawClient } from "../support/raw-client.ts";

/** Longest a Runnel process may take to listen after a start (ms; a restart replays its logs and metadata). */
const RUNNEL_START_MS = 90_000;

/** One broker of the comparison, restartable on its data. */
export interface RestartableNode {
  name: "kafka" | "runnel";
  /** Its current port (a restarted Runnel listens on a new one). */
  port: number;
  /** Stops the broker (SIGKILL on Runnel when `kill`; Kafka always cleanly) and starts it again on its data. */
  restart(kill: boolean): Promise<void>;
  /** Stops the broker and removes its data. */
  stop(): Promise<void>;
  /** A connection to it, logged in as `user` (password `<user>-pw`) when it listens with SASL; "admin" is a super user. */
  connect(user?: string): Promise<RawClient>;
}

/** PLAIN users of a SASL pair: admin (a super user) and alice, each with the password `<user>-pw`. */
const JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-pw" user_alice="alice-pw";';
/** Settings of a SASL pair on both brokers: one SASL_PLAINTEXT listener with PLAIN, StandardAuthorizer, admin a super user. */
const SASL_SETTINGS: Record<string, string> = {
  "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
  "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN",
  "listener.name.sasl_plaintext.plain.sasl.jaas.config": JAAS,
};

/** How the pair listens: `sasl` puts both behind SASL PLAIN and the StandardAuthorizer (for ACLs). */
export interface NodeOptions {
  sasl?: boolean;
}

/** Opens a connection to `port`, logged in with SASL PLAIN as `user` when `sasl`. */
async function open(port: number, sasl: boolean, user: string): Promise<RawClient> {
  return sasl ? loginPlain(port, user) : RawClient.connect(port);
}

/** A connection to `port` logged in with SASL PLAIN as `user` (password `<user>-pw`). */
export async function loginPlain(port: number, user: string): Promise<RawClient> {
  const c = await RawClient.connect(port);
  const hs = await c.request(17, 1, { mechanism: "PLAIN" });
  const auth = await c.request(36, 2, { authBytes: Buffer.from(`\0${user}\0${user}-pw`) });
  if (hs.errorCode !== 0 || auth.errorCode !== 0) {
    c.close();
    throw new Error(`login of ${user} on ${port} failed: ${hs.errorCode}/${auth.errorCode}`);
  }
  return c;
}

/** Starts Kafka with `settings` (node id 1), restartable on its directory and ports. */
export async function kafkaNode(settings: Record<string, string>, opts: NodeOptions = {}): Promise<RestartableNode> {
  const sasl = opts.sasl === true;
  // the PLAINTEXT listener (readiness check, broker to controller) authenticates as User:ANONYMOUS
  const overrides = sasl ? { ...settings, ...SASL_SETTINGS, "super.users": "User:admin;User:ANONYMOUS" } : settings;
  let k: KafkaBroker = await startKafka({ overrides, saslPlaintext: sasl });
  const node: RestartableNode = {
    name: "kafka",
    port: sasl ? k.saslPort : k.port,
    async restart() {
      await k.stop({ keepDir: true });
      k = await startKafka({ overrides, saslPlaintext: sasl, dir: k.dir, ports: { port: k.port, controllerPort: k.controllerPort } });
      node.port = sasl ? k.saslPort : k.port;
    },
    stop: () => k.stop(),
    connect: (user = "admin") => open(node.port, sasl, user),
  };
  return node;
}

/**
 * Starts Runnel with `settings` (node id 1, 4 offsets partitions) on a fresh data directory, and sets the cluster
 * default min.insync.replicas=1 as Kafka's storage formatter does (differential.ts does the same).
 */
export async function runnelNode(settings: Record<string, string>, opts: NodeOptions = {}): Promise<RestartableNode> {
  const sasl = opts.sasl === true;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-restart-oracle-"));
  const all = { ...settings, "node.id": "1", "offsets.topic.num.partitions": "4", ...(sasl ? { ...SASL_SETTINGS, listeners: "SASL_PLAINTEXT://127.0.0.1:0", "super.users": "User:admin" } : {}) };
  const args = [...(sasl ? [] : ["--port", "0"]), "--data-dir", dir, ...Object.entries(all).flatMap(([k, v]) => ["-o", `${k}=${v}`])];
  let b: BrokerProcess = await startBrokerProcess("bun", args, RUNNEL_START_MS);
  const c = await open(b.port, sasl, "admin");
  try {
    const r = await c.request(44, 1, { resources: [{ resourceType: 4, resourceName: "", configs: [{ name: "min.insync.replicas", configOperation: 0, value: "1" }] }], validateOnly: false });
    if (r.responses[0].errorCode !== 0) throw new Error(`Runnel refused the cluster default min.insync.replicas: ${r.responses[0].errorCode}`);
  } finally {
    c.close();
  }
  const node: RestartableNode = {
    name: "runnel",
    port: b.port,
    async restart(kill) {
      const exit = await b.stop(kill ? "SIGKILL" : "SIGTERM");
      if (!kill && exit !== 0) throw new Error(`Runnel exited with ${exit} after SIGTERM:\n${b.log().slice(-4000)}`);
      b = await startBrokerProcess("bun", args, RUNNEL_START_MS);
      node.port = b.port;
    },
    async stop() {
      await b.stop("SIGTERM");
      fs.rmSync(dir, { recursive: true, force: true });
    },
    connect: (user = "admin") => open(node.port, sasl, user),
  };
  return node;
}

/** The largest version of `apiKey` both brokers serve, capped at `cap`. */
export type Versions = (apiKey: number, cap?: number) => number;

/** Both brokers of a restart comparison and the versions both serve. */
export interface RestartPair {
  kafka: RestartableNode;
  runnel: RestartableNode;
  V: Versions;
}

/**
 * Declares a restart comparison's one test: Kafka and Runnel with `settings` (and `opts`) started for it (stopped
 * after the file), skipped with the reason where Kafka cannot run. `body` gets both brokers.
 */
export function restartSuite(title: string, settings: Record<string, string>, body: (pair: RestartPair) => Promise<void>, opts: NodeOptions = {}): void {
  const why = kafkaUnavailable();
  if (why) {
    test(`${title} (SKIPPED: ${why})`, { skip: why }, () => {});
    return;
  }
  let nodes: Promise<[RestartableNode, RestartableNode]> | null = null;
  after(async () => {
    if (nodes) await Promise.all((await nodes).map((n) => n.stop()));
  });
  test(title, { timeout: 900_000 }, async () => {
    const [kafka, runnel] = await (nodes ??= Promise.all([kafkaNode(settings, opts), runnelNode(settings, opts)]));
    const [kv, rv] = await Promise.all([versionTable(kafka.port), versionTable(runnel.port)]);
    await body({ kafka, runnel, V: (apiKey, cap = Infinity) => Math.min(kv.get(apiKey)![1], rv.get(apiKey)![1], cap) });
  });
}

/** Restarts both brokers at once (Runnel by SIGKILL when `kill`) and logs how long each took. */
export async function restartBoth({ kafka, runnel }: RestartPair, kill: boolean, label: string): Promise<void> {
  const t = performance.now();
  const took = await Promise.all([kafka, runnel].map(async (n) => {
    await n.restart(n === runnel && kill);
    return `${n.name} ${Math.round(performance.now() - t)} ms`;
  }));
  console.error(`${label}${kill ? " (Runnel killed)" : ""}: ${took.join(", ")}`);
}

/** The differences of Runnel's answers from Kafka's that INTENTIONAL_DIFFERENCES does not list under `api`. */
export function restartDifferences(api: string, kafka: unknown, runnel: unknown): string[] {
  return diff(normalize(kafka), normalize(runnel)).filter((d) => {
    const at = d.split(": ")[0];
    return !INTENTIONAL_DIFFERENCES.some((x) => x.api === api && (x.path.test(at.replace(/\[[^\]]*\]/g, "[]")) || x.path.test(at)));
  });
}
