/**
 * Runs Java programs against a test broker: Kafka's own tools by main class and our scenario programs
 * (tests/java/src, compiled into tests/java/classes by tests/setup.d/31-java-programs.sh), with the Kafka 4.4 jars
 * from tests/java/lib on the classpath and a temporary log4j2 config (warnings to stderr). When a program source
 * changed since the last compile, loading this module recompiles. `javaSkip` says why Java tests cannot run here.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runProc, haveCommand, type ProcResult } from "./proc.ts";
import { spawnPeer, type PeerProcess } from "./json-process.ts";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const JAVA_DIR = path.join(ROOT, "tests", "java");
const LIB = path.join(JAVA_DIR, "lib");
const CLASSES = path.join(JAVA_DIR, "classes");

/** Main classes of Kafka's command-line tools (what bin/kafka-*.sh run) in Kafka 4.4. */
export const KAFKA_TOOL = {
  topics: "org.apache.kafka.tools.TopicCommand",
  configs: "org.apache.kafka.tools.ConfigCommand",
  consoleProducer: "org.apache.kafka.tools.ConsoleProducer",
  consoleConsumer: "org.apache.kafka.tools.consumer.ConsoleConsumer",
  consumerGroups: "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
  getOffsets: "org.apache.kafka.tools.GetOffsetShell",
  deleteRecords: "org.apache.kafka.tools.DeleteRecordsCommand",
  logDirs: "org.apache.kafka.tools.LogDirsCommand",
  transactions: "org.apache.kafka.tools.TransactionsCommand",
  producerPerf: "org.apache.kafka.tools.ProducerPerformance",
  consumerPerf: "org.apache.kafka.tools.ConsumerPerformance",
  verifiableProducer: "org.apache.kafka.tools.VerifiableProducer",
  verifiableConsumer: "org.apache.kafka.tools.VerifiableConsumer",
  dumpLog: "org.apache.kafka.tools.DumpLogSegments",
  brokerApiVersions: "org.apache.kafka.tools.BrokerApiVersionsCommand",
  leaderElection: "org.apache.kafka.tools.LeaderElectionCommand",
  reassignPartitions: "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
} as const;

/** Newest modification time (ms) of the files under `dir` whose names end with `ext`. */
function newestMtime(dir: string, ext: string): number {
  let newest = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(ext)) newest = Math.max(newest, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/** Compiles the programs when a source is newer than the last compile; returns why Java tests cannot run, or false. */
function prepare(): string | false {
  if (!haveCommand("java")) return "no java on PATH (tests/setup.d/30-kafka-jars.sh installs a JDK as root)";
  if (!fs.existsSync(LIB) || !fs.readdirSync(LIB).some((f) => /^kafka-clients-.*\.jar$/.test(f)))
    return "no Kafka jars in tests/java/lib (run bash tests/setup.d/30-kafka-jars.sh)";
  const built = fs.existsSync(CLASSES) ? (fs.readdirSync(CLASSES).find((f) => f.startsWith(".src-")) ?? null) : null;
  const builtAt = built ? fs.statSync(path.join(CLASSES, built)).mtimeMs : 0;
  if (!built || newestMtime(path.join(JAVA_DIR, "src"), ".java") > builtAt) {
    const r = spawnSync("bash", [path.join(ROOT, "tests", "setup.d", "31-java-programs.sh")], { encoding: "utf8" });
    if (!fs.existsSync(CLASSES)) return `the Java test programs did not compile:\n${r.stdout}${r.stderr}`;
  }
  return false;
}

/** Why the Java tests are skipped on this machine, or false when they can run. */
export const javaSkip: string | false = prepare();

let log4jFile: string | undefined;

/** A log4j2 config for this test process: WARN and above to stderr (removed when the process exits). */
function log4jConfig(): string {
  if (log4jFile) return log4jFile;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-log4j-"));
  log4jFile = path.join(dir, "log4j2.properties");
  fs.writeFileSync(
    log4jFile,
    [
      "appender.err.type = Console",
      "appender.err.name = STDERR",
      "appender.err.target = SYSTEM_ERR",
      "appender.err.layout.type = PatternLayout",
      "appender.err.layout.pattern = [java %d{HH:mm:ss.SSS} %p %c{1}] %m%n",
      `rootLogger.level = ${process.env.RUNNEL_JAVA_LOG ?? "warn"}`,
      "rootLogger.appenderRef.err.ref = STDERR",
      "",
    ].join("\n"),
  );
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return log4jFile;
}

/** Options for a Java program. */
export interface JavaOptions {
  /** Extra JVM flags (before the main class). */
  jvm?: string[];
  /** Extra environment. */
  env?: Record<string, string>;
}

/** The `java` argument list for `mainClass args`: small-machine JVM flags, the classpath, the log config. */
export function javaArgs(mainClass: string, args: string[], opts: JavaOptions = {}): string[] {
  return [
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Xss1m",
    "-Xmx768m",
    "-Djava.net.preferIPv4Stack=true",
    `-Dlog4j2.configurationFile=${log4jConfig()}`,
    "-cp",
    `${CLASSES}:${LIB}/*`,
    ...(opts.jvm ?? []),
    mainClass,
    ...args,
  ];
}

/** Runs `mainClass args` to completion (killed after `timeoutMs`). */
export function runJava(mainClass: string, args: string[], opts: JavaOptions & { input?: string; timeoutMs?: number } = {}): Promise<ProcResult> {
  return runProc("java", javaArgs(mainClass, args, opts), { input: opts.input, timeoutMs: opts.timeoutMs ?? 120_000, env: opts.env });
}

/** A JVM that runs Kafka tools one after another by main class (tests/java/src/runnel/ToolSession.java). */
export interface ToolSession {
  /** Runs tool `mainClass` with `args` (and `input` as its stdin) in the session's JVM. */
  run(mainClass: string, args: string[], input?: string): Promise<ProcResult>;
  /** Ends the JVM. */
  close(): Promise<void>;
}

/** Starts a tool session; commands run one at a time, in call order. */
export function startToolSession(opts: JavaOptions = {}): ToolSession {
  const jvm = spawnJava("runnel.ToolSession", [], opts);
  let queue: Promise<unknown> = jvm.waitFor((e) => e.event === "ready", 60_000, "the tool session to start");
  let done = 0;
  return {
    run(mainClass, args, input) {
      const result = queue.then(async () => {
        jvm.send(JSON.stringify({ main: mainClass, args, input: input ?? "" }));
        const n = ++done;
        let seen = 0;
        const e = await jvm.waitFor((ev) => ev.event === "done" && ++seen === n, 120_000, `${mainClass} ${args.join(" ")} to finish`);
        return { code: e.code, stdout: e.stdout, stderr: e.stderr, timedOut: false };
      });
      queue = result.catch(() => {});
      return result;
    },
    async close() {
      jvm.child.stdin!.end();
      await Promise.race([jvm.exited, new Promise((r) => setTimeout(r, 10_000))]);
      await jvm.kill();
    },
  };
}

/** Starts `mainClass args` as a long-running program printing JSON events (see json-process.ts). */
export function spawnJava(mainClass: string, args: string[], opts: JavaOptions = {}): PeerProcess {
  return spawnPeer("java", javaArgs(mainClass, args, opts), { env: opts.env });
}
