/**
 * Starts a real Apache Kafka broker (the jars tests/setup.d/30-kafka-jars.sh puts in tests/java/lib) for the
 * differential tests and the benchmarks: a KRaft single-node combined broker+controller, formatted with a random
 * cluster id in a fresh temporary directory, on loopback ports the OS chose, logging to a file through a log4j2
 * config of our own. `stop()` sends SIGTERM, then SIGKILL after a bound, and removes the directory.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RawClient } from "./raw-client.ts";
import { runProc, signalChild } from "./proc.ts";
import { freePorts, waitForFreePorts } from "../../bench/suite/processes.ts";

/** Where the Kafka jars are. */
export const KAFKA_LIB = path.resolve(import.meta.dirname!, "..", "java", "lib");
/** The Java classpath of the Kafka jars. */
export const KAFKA_CLASSPATH = `${KAFKA_LIB}/*`;
/** Longest a Kafka start may take before it counts as failed (ms; the JVM is slow on a loaded two-core machine). */
export const KAFKA_START_TIMEOUT_MS = 120_000;
/** How long `stop()` waits after SIGTERM before SIGKILL (ms). */
export const KAFKA_STOP_GRACE_MS = 15_000;

/** Why Kafka cannot run here (no java, no jars), or null when it can. */
export function kafkaUnavailable(): string | null {
  const javaOnPath = (process.env.PATH ?? "").split(":").some((d) => d && fs.existsSync(path.join(d, "java")));
  if (!javaOnPath) return "no java on PATH (install a JDK; tests/setup.d/30-kafka-jars.sh does it as root)";
  if (!fs.existsSync(KAFKA_LIB) || !fs.readdirSync(KAFKA_LIB).some((f) => /^kafka_2\.13-.*\.jar$/.test(f))) {
    return "no Kafka jars in tests/java/lib (run bash tests/setup.d/30-kafka-jars.sh)";
  }
  return null;
}

/** A running Apache Kafka broker. */
export interface KafkaBroker {
  /** The PLAINTEXT listener port. */
  port: number;
  /** "127.0.0.1:port". */
  bootstrap: string;
  /** Its temporary directory (data, config, log). */
  dir: string;
  /** The JVM's process id. */
  pid: number;
  /** The broker's log file (what our log4j2 config writes). */
  logFile: string;
  /** Milliseconds from spawning the JVM to ready (ApiVersions answered and Metadata lists the broker). */
  startMs: number;
  /** The controller listener port. */
  controllerPort: number;
  /** The SASL_PLAINTEXT listener port (0 without `saslPlaintext`). */
  saslPort: number;
  /**
   * Stops the broker (SIGTERM, SIGKILL after KAFKA_STOP_GRACE_MS; `kill`: SIGKILL at once, a crash) and removes
   * its directory unless keepDir.
   */
  stop(opts?: { keepDir?: boolean; kill?: boolean }): Promise<void>;
}

/** Options of a Kafka start. */
export interface KafkaOptions {
  /** Extra server.properties lines (Kafka key names), applied after ours. */
  overrides?: Record<string, string>;
  /** JVM heap (-Xmx and -Xms); default 512m. */
  heap?: string;
  /** Reuse this directory (already formatted) instead of a fresh one: a restart. */
  dir?: string;
  /** Log level of the broker's log file; default WARN. */
  logLevel?: string;
  /** Listener ports to reuse (a restart of a KRaft voter keeps its controller endpoint); default: free ones. */
  ports?: { port: number; controllerPort: number };
  /** Feature levels given to `kafka-storage format` (name to level); default transaction.version=1, as Runnel (below). */
  features?: Record<string, number>;
  /** Longest to wait for ready (ms); default KAFKA_START_TIMEOUT_MS (a restart on gigabytes of data takes longer). */
  startTimeoutMs?: number;
  /**
   * Adds a SASL_PLAINTEXT listener (named SASL_PLAINTEXT, advertised beside PLAINTEXT) on a free port; its SASL
   * settings come in `overrides` (listener.name.sasl_plaintext.*). The PLAINTEXT listener stays: the harness's
   * readiness check and inter-broker traffic use it (as User:ANONYMOUS).
   */
  saslPlaintext?: boolean;
  /** node.id; default 1. */
  nodeId?: number;
  /**
   * Joins a static KRaft quorum instead of forming a standalone one: `voters` is controller.quorum.voters
   * ("1@127.0.0.1:port,..."), and a fresh directory is formatted with `clusterId` (the same on every node).
   * kafka-cluster.ts starts three such nodes.
   */
  quorum?: { clusterId: string; voters: string };
}

/**
 * Feature levels the harness formats Kafka with by default. Runnel finalizes no feature flags, so clients run the
 * classic transaction protocol (explicit AddPartitionsToTxn); Kafka 4.4 would otherwise default to
 * transaction.version=2, where a Produce v12+ adds its partition to the transaction implicitly (KIP-890).
 */
export const KAFKA_DEFAULT_FEATURES: Record<string, number> = { "transaction.version": 1 };

/** Kafka JVMs started by this process; killed when it exits, so a test run cut short leaves none behind. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  running.add(child);
  child.once("exit", () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const c of running) signalChild(c, "SIGKILL");
  });
}

function log4j2Config(logFile: string, level: string): string {
  return [
    "status = error",
    "name = runnel-kafka-oracle",
    "appender.file.type = File",
    "appender.file.name = FILE",
    `appender.file.fileName = ${logFile}`,
    "appender.file.layout.type = PatternLayout",
    "appender.file.layout.pattern = [%d] %p %m (%c)%n",
    `rootLogger.level = ${level}`,
    "rootLogger.appenderRef.file.ref = FILE",
    "",
  ].join("\n");
}

function serverProperties(dataDir: string, port: number, controllerPort: number, saslPort: number, overrides: Record<string, string>, nodeId: number, voters: string | null): string {
  const sasl = saslPort > 0 ? `,SASL_PLAINTEXT://127.0.0.1:${saslPort}` : "";
  const props: Record<string, string> = {
    "process.roles": "broker,controller",
    "node.id": String(nodeId),
    "listeners": `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}${sasl}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${port}${sasl}`,
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": `PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${saslPort > 0 ? ",SASL_PLAINTEXT:SASL_PLAINTEXT" : ""}`,
    ...(voters === null ? { "controller.quorum.bootstrap.servers": `127.0.0.1:${controllerPort}` } : { "controller.quorum.voters": voters }),
    "log.dirs": dataDir,
    "num.partitions": "1",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "4",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "4",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    ...overrides,
  };
  return Object.entries(props).map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
}

async function java(args: string[], dir: string, timeoutMs: number): Promise<string> {
  const r = await runProc("java", ["-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", `-Dlog4j2.configurationFile=${path.join(dir, "log4j2.properties")}`, "-cp", KAFKA_CLASSPATH, ...args], { timeoutMs });
  if (r.code !== 0) throw new Error(`java ${args.slice(0, 2).join(" ")} failed (${r.code}): ${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`);
  return r.stdout;
}

/** A fresh Kafka cluster id (`kafka-storage random-uuid`); `dir` holds the log4j2 config the tool reads, if any. */
export async function kafkaRandomUuid(dir: string): Promise<string> {
  return (await java(["kafka.tools.StorageTool", "random-uuid"], dir, 60_000)).trim().split("\n").pop()!.trim();
}

/** Longest one readiness probe waits for an answer (ms). */
const READY_PROBE_TIMEOUT_MS = 5_000;

/**
 * Whether the broker at `port` answers ApiVersions and lists itself in Metadata with `clusterId`: the id check makes
 * sure the answer comes from the JVM we started, not from another broker that took the port we picked.
 */
async function ready(port: number, clusterId: string): Promise<boolean> {
  let c: RawClient | null = null;
  try {
    c = await RawClient.connect(port);
    // whatever holds the port may accept and never answer (a port taken before the JVM bound it)
    c.timeoutMs = READY_PROBE_TIMEOUT_MS;
    const av = await c.request(18, 3, { clientSoftwareName: "runnel-oracle", clientSoftwareVersion: "1" });
    if (av.errorCode !== 0) return false;
    const md = await c.request(3, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    return md.brokers.length > 0 && md.clusterId === clusterId;
  } catch {
    return false;
  } finally {
    c?.close();
  }
}

/** Fresh starts (ports not given) tried before a port taken between pick and bind counts as a failure. */
export const KAFKA_PORT_ATTEMPTS = 4;
/** Longest a restart on kept ports waits for them to be free again (ms). */
export const KAFKA_KEPT_PORTS_WAIT_MS = 60_000;

/**
 * Kafka exited because a listener port it was given was taken: the OS handed out the port we picked (and released)
 * to someone else, for instance as the local port of an outgoing connection, before the JVM bound it.
 */
export class KafkaPortTakenError extends Error {}


/**
 * Starts Kafka (see {@link KafkaOptions}). A fresh start on ports it picked itself picks again, up to
 * {@link KAFKA_PORT_ATTEMPTS} times, when one was taken before the JVM bound it. A restart on kept ports (`dir` and
 * `ports`) waits for them to be free and tries as often. A fresh start on given ports throws
 * {@link KafkaPortTakenError}, so its caller (a cluster) can pick all ports again.
 */
export async function startKafka(opts: KafkaOptions = {}): Promise<KafkaBroker> {
  for (let attempt = 1; ; attempt++) {
    if (opts.ports && opts.dir) {
      const taken = await waitForFreePorts([opts.ports.port, opts.ports.controllerPort], KAFKA_KEPT_PORTS_WAIT_MS);
      if (taken !== null) throw new KafkaPortTakenError(`port ${taken} kept for the restarted Kafka is still taken after ${KAFKA_KEPT_PORTS_WAIT_MS} ms`);
    }
    try {
      return await startKafkaOnce(opts);
    } catch (e) {
      const retry = e instanceof KafkaPortTakenError && attempt < KAFKA_PORT_ATTEMPTS && (!opts.ports || opts.dir !== undefined);
      if (!retry) throw e;
    }
  }
}

/** Formats (unless reusing `opts.dir`) and starts a Kafka broker; resolves once it is ready. */
async function startKafkaOnce(opts: KafkaOptions): Promise<KafkaBroker> {
  const why = kafkaUnavailable();
  if (why) throw new Error(`cannot start Kafka: ${why}`);
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "runnel-kafka-"));
  const dataDir = path.join(dir, "data");
  const logFile = path.join(dir, "server.log");
  // two distinct ports: two single picks may get the same port back (Kafka then refuses both listeners on it)
  const [port, controllerPort] = opts.ports ? [opts.ports.port, opts.ports.controllerPort] : await freePorts(2);
  let saslPort = 0;
  if (opts.saslPlaintext) {
    do [saslPort] = await freePorts(1);
    while (saslPort === port || saslPort === controllerPort);
  }
  const config = path.join(dir, "server.properties");
  fs.writeFileSync(path.join(dir, "log4j2.properties"), log4j2Config(logFile, opts.logLevel ?? "WARN"));
  fs.writeFileSync(config, serverProperties(dataDir, port, controllerPort, saslPort, opts.overrides ?? {}, opts.nodeId ?? 1, opts.quorum?.voters ?? null));
  let clusterId: string;
  if (!opts.dir) {
    clusterId = opts.quorum?.clusterId ?? (await kafkaRandomUuid(dir));
    const features = Object.entries(opts.features ?? KAFKA_DEFAULT_FEATURES).flatMap(([k, v]) => ["--feature", `${k}=${v}`]);
    await java(["kafka.tools.StorageTool", "format", "-t", clusterId, "-c", config, ...(opts.quorum ? [] : ["--standalone"]), ...features], dir, 60_000);
  } else {
    clusterId = /^cluster\.id=(.*)$/m.exec(fs.readFileSync(path.join(dataDir, "meta.properties"), "utf8"))?.[1]?.trim() ?? "";
  }
  const heap = opts.heap ?? "512m";
  const out = fs.openSync(path.join(dir, "stdout.log"), "a");
  const t0 = performance.now();
  const child: ChildProcess = spawn("java", [
    `-Xmx${heap}`, `-Xms${heap}`, "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
    `-Dlog4j2.configurationFile=${path.join(dir, "log4j2.properties")}`, "-cp", KAFKA_CLASSPATH, "kafka.Kafka", config,
  ], { stdio: ["ignore", out, out] });
  fs.closeSync(out);
  track(child);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once("exit", () => {
    exited = true;
    resolve();
  }));
  const stop = async (stopOpts?: { keepDir?: boolean; kill?: boolean }) => {
    if (!exited) {
      signalChild(child, stopOpts?.kill ? "SIGKILL" : "SIGTERM");
      const timer = setTimeout(() => signalChild(child, "SIGKILL"), KAFKA_STOP_GRACE_MS);
      await exit;
      clearTimeout(timer);
    }
    if (!stopOpts?.keepDir) fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (opts.startTimeoutMs ?? KAFKA_START_TIMEOUT_MS);
  while (exited || !(await ready(port, clusterId))) {
    if (exited || Date.now() > deadline) {
      const tail = [logFile, path.join(dir, "stdout.log")].map((f) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8").slice(-3000) : "")).join("\n");
      await stop({ keepDir: opts.dir !== undefined });
      const taken = exited && /BindException|Address already in use/.test(tail);
      throw new (taken ? KafkaPortTakenError : Error)(`Kafka did not become ready (${exited ? "exited" : "timed out"}${taken ? ", a listener port was taken" : ""}):\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, controllerPort, saslPort, bootstrap: `127.0.0.1:${port}`, dir, pid: child.pid!, logFile, startMs: performance.now() - t0, stop };
}
