/**
 * The one test command: runs every test file under Bun, the runtime-neutral suites under Deno, reads both
 * runners' JUnit reports, and prints one summary line `N passed, N failed, N skipped` (Bun's and Deno's own
 * summaries are not what CI reads).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const root = path.resolve(import.meta.dir, "..");
const out = path.join(root, ".test-results");
fs.mkdirSync(out, { recursive: true });
const bin = (name: string) => path.join(root, "node_modules", ".bin", name);

/** Test files that must also pass under Deno (runtime-neutral code paths). */
const DENO_SUITES = [
  "tests/protocol",
  "tests/compression",
  "tests/storage",
  "tests/client",
  "tests/transactions",
  "tests/partition",
  "tests/replication",
  // Worker threads and port connections (src/platform/worker.ts) under Deno's node:worker_threads.
  "tests/platform/worker-echoes-bytes-over-port-connection.test.ts",
  // A node's shards in worker threads and the metadata mirror under Deno (the rest of tests/shard is Bun-only: CI time).
  "tests/shard/host-serves-partitions-on-owning-shards.test.ts",
  "tests/shard/metadata-mirror-keeps-order-and-forwards-writes.test.ts",
  // HTTP side (metrics, readiness, JSON API) under Deno's node:http too; the browser and executable tests are Bun-only.
  "tests/http/metrics-report-known-workload.test.ts",
  "tests/http/json-api-state-changes.test.ts",
  "tests/http/ready-while-logs-recover.test.ts",
  "tests/http/http-tls-basic-bearer-auth-and-acls.test.ts",
  "tests/http/json-api-acls-and-users.test.ts",
  "tests/http/ready-in-cluster-mode-needs-registration.test.ts",
  "tests/cluster",
  "tests/security",
];

/**
 * Real-client test files that run a second time with every node the shared helpers start sharded
 * (`RUNNEL_TEST_SHARDS`, docs/sharding.md): client round trips, consumer groups, transactions, recovery. Chosen to
 * fit CI's 30 minutes (about a minute sharded); more files pass sharded (docs/sharding.md lists them). Files that
 * reach into an in-process Broker stay single-shard. The SIGKILL crash test with shards runs in the first pass.
 */
const SHARDED_SUITES: string[] = [
  // client round trips and admin
  "tests/interop/python-clients.test.ts",
  "tests/interop/kcat.test.ts",
  "tests/client/producer-idempotent-acks-real-broker.test.ts",
  "tests/broker/init-producer-id-idempotent-new-id.test.ts",
  "tests/interop/java-admin-client.test.ts",
  // consumer groups (franz-go: a member killed, the others take over)
  "tests/client/consumer-group-rebalance.test.ts",
  "tests/interop/franz-go-producer-consumer-group.test.ts",
  // transactions
  "tests/interop/java-producer-idempotent-transactional.test.ts",
  "tests/interop/franz-go-transact-session-and-kadm.test.ts",
  // malformed frames and failed SASL logins at the front; restart with log recovery
  "tests/broker/bad-input.test.ts",
  "tests/security/failed-login-storm.test.ts",
  "tests/broker/lifecycle.test.ts",
  // more client families, CLI commands and crash recovery (75 tests, 96 s alone on a quiet machine)
  "tests/interop/node-clients.test.ts",
  "tests/interop/sarama-producer-consumer-group.test.ts",
  "tests/interop/java-consumer-group-takeover.test.ts",
  "tests/interop/kafka-verifiable-producer-consumer.test.ts",
  "tests/interop/python-admin-clients.test.ts",
  "tests/broker/crash-recovery.test.ts",
  "tests/cli/group-commands.test.ts",
  "tests/cli/produce-consume-commands.test.ts",
  "tests/cli/topic-commands.test.ts",
  "tests/cli/bench-produce-consume-e2e-report.test.ts",
  "tests/cli/bench-waits-for-new-topic-metadata.test.ts",
  "tests/client/producer-codecs-read-by-kcat-kafkajs-python.test.ts",
  "tests/client/consumer-fetch-settings-and-positions.test.ts",
  "tests/client/consumer-reads-kcat-kafkajs-python-producers.test.ts",
  // power cuts on the forgetful disk (acked records, topic changes; the negative control without fdatasync too)
  "tests/durability/power-cut-keeps-acked-records.test.ts",
  "tests/durability/power-cut-keeps-acknowledged-topic-changes.test.ts",
  "tests/transactions/produce-v12-adds-partitions-implicitly.test.ts",
  // TLS, SASL (PLAIN, SCRAM, OAUTHBEARER), mTLS principals and ACLs terminated at the front; CLI over SASL_SSL
  "tests/security/sasl-plain-scram-kafkajs.test.ts",
  "tests/security/tls-sasl-librdkafka.test.ts",
  "tests/security/runnel-client-tls-sasl.test.ts",
  "tests/security/tls-certificate-reload.test.ts",
  "tests/security/mtls-principal-acls.test.ts",
  "tests/security/oauthbearer-unsecured-jws.test.ts",
  "tests/security/oauthbearer-jwks-kafkajs.test.ts",
  "tests/security/acl-authorization-kafkajs.test.ts",
  "tests/cli/commands-over-sasl-ssl.test.ts",
  "tests/cli/user-and-acl-commands.test.ts",
  // __consumer_offsets compaction and restart, idempotence, fetch sessions, big frames, Kafka's log dumper on shard files
  "tests/broker/compaction-consumer-offsets-restart.test.ts",
  "tests/broker/idempotence.test.ts",
  "tests/broker/fetch-sessions.test.ts",
  "tests/broker/large-produce-frames-stored-intact.test.ts",
  "tests/broker/list-offsets-nothing-found-has-no-epoch.test.ts",
  "tests/broker/log-lines-escape-client-ids.test.ts",
  "tests/interop/kafka-dump-log-reads-runnel-files.test.ts",
  "tests/interop/kafka-dump-log-reads-consumer-group-records.test.ts",
  "tests/interop/java-consumer-regex-subscription.test.ts",
  // consumer groups read over the wire (tests/support/group-state.ts): kafkajs (a member killed, a broker restart), kcat -G
  "tests/group/kafkajs-consumer-groups.test.ts",
  "tests/group/kcat-consumer-group.test.ts",
  // the HTTP side of a sharded node: metrics, JSON API, console
  "tests/http/metrics-report-known-workload.test.ts",
  "tests/http/woken-fetch-path-from-produce-arrival.test.ts",
  "tests/http/json-api-state-changes.test.ts",
  "tests/http/json-api-acls-and-users.test.ts",
  "tests/http/console-create-topic-produce-and-browse.test.ts",
  "tests/http/console-group-lag-and-reset.test.ts",
  "tests/http/console-escapes-record-contents.test.ts",
];
/** Shards of each node in the sharded pass. */
const SHARDED_PASS_SHARDS = 2;

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  failures: string[];
}

function decodeXml(s: string): string {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#10;/g, "\n").replace(/&amp;/g, "&");
}

/** Counts leaf test cases in a JUnit file; Deno lists a describe block as a case too, so parents are dropped. */
function countJunit(file: string, runner: string): Counts {
  const c: Counts = { passed: 0, failed: 0, skipped: 0, failures: [] };
  if (!fs.existsSync(file)) {
    c.failed = 1;
    c.failures.push(`${runner}: no report written (${file})`);
    return c;
  }
  const xml = fs.readFileSync(file, "utf8");
  const cases: { name: string; body: string; file: string }[] = [];
  const re = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (let m; (m = re.exec(xml)); ) {
    const attrs = m[1];
    const name = decodeXml(/\bname="([^"]*)"/.exec(attrs)?.[1] ?? "?");
    const f = /\b(?:file|classname)="([^"]*)"/.exec(attrs)?.[1] ?? "";
    cases.push({ name, body: m[3] ?? "", file: f });
  }
  const names = new Set(cases.map((k) => k.name));
  for (const k of cases) {
    const isParent = [...names].some((n) => n !== k.name && n.startsWith(k.name + " > "));
    if (isParent) continue;
    if (/<failure|<error/.test(k.body)) {
      c.failed++;
      const msg = /message="([^"]*)"/.exec(k.body)?.[1] ?? "";
      c.failures.push(`${runner}: ${k.file} ${k.name}\n    ${decodeXml(msg).split("\n").slice(0, 6).join("\n    ")}`);
    } else if (/<skipped/.test(k.body)) c.skipped++;
    else c.passed++;
  }
  return c;
}

/**
 * Longest the Deno run may take, ms. Deno's node:test ignores a test's `timeout` option, so a stuck test would
 * block CI forever; this bound fails the run instead (the test printed last in the log is the stuck one).
 */
const DENO_RUN_LIMIT_MS = 15 * 60_000;

function run(cmd: string, args: string[], limitMs?: number, env: Record<string, string> = {}): number {
  const started = Date.now();
  console.log(`\n$ ${Object.entries(env).map(([k, v]) => `${k}=${v} `).join("")}${path.basename(cmd)} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", timeout: limitMs, killSignal: "SIGKILL", env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1", ...env } });
  if (r.signal) console.log(`\n${path.basename(cmd)} killed by ${r.signal}${r.error ? ` (${r.error.message}; limit ${limitMs} ms)` : ""}`);
  console.log(`(${path.basename(cmd)} took ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  return r.status ?? 1;
}

const only = process.argv.slice(2);
const bunXml = path.join(out, "bun.xml");
const denoXml = path.join(out, "deno.xml");
const shardedXml = path.join(out, "bun-sharded.xml");
fs.rmSync(bunXml, { force: true });
fs.rmSync(denoXml, { force: true });
fs.rmSync(shardedXml, { force: true });

run(bin("bun"), ["test", "--timeout", "300000", "--reporter=junit", `--reporter-outfile=${bunXml}`, ...(only.length ? only : ["tests/"])]);
const bun = countJunit(bunXml, "bun");

let deno: Counts = { passed: 0, failed: 0, skipped: 0, failures: [] };
if (only.length === 0) {
  const suites = DENO_SUITES.filter((s) => fs.existsSync(path.join(root, s)));
  run(bin("deno"), ["test", "-A", "--no-check", `--junit-path=${denoXml}`, ...suites], DENO_RUN_LIMIT_MS);
  deno = countJunit(denoXml, "deno");
}

let sharded: Counts = { passed: 0, failed: 0, skipped: 0, failures: [] };
const shardedFiles = only.length === 0 ? SHARDED_SUITES.filter((s) => fs.existsSync(path.join(root, s))) : [];
if (shardedFiles.length > 0) {
  console.log(`\nsharded pass: these files run again with RUNNEL_TEST_SHARDS=${SHARDED_PASS_SHARDS} (every node they start has ${SHARDED_PASS_SHARDS} shards):\n  ${shardedFiles.join("\n  ")}`);
  run(bin("bun"), ["test", "--timeout", "300000", "--reporter=junit", `--reporter-outfile=${shardedXml}`, ...shardedFiles], undefined, { RUNNEL_TEST_SHARDS: String(SHARDED_PASS_SHARDS) });
  sharded = countJunit(shardedXml, `bun (${SHARDED_PASS_SHARDS} shards)`);
}

const total = {
  passed: bun.passed + deno.passed + sharded.passed,
  failed: bun.failed + deno.failed + sharded.failed,
  skipped: bun.skipped + deno.skipped + sharded.skipped,
};
console.log(`\nbun:  ${bun.passed} passed, ${bun.failed} failed, ${bun.skipped} skipped`);
console.log(`deno: ${deno.passed} passed, ${deno.failed} failed, ${deno.skipped} skipped`);
if (shardedFiles.length > 0) console.log(`bun, ${SHARDED_PASS_SHARDS} shards: ${sharded.passed} passed, ${sharded.failed} failed, ${sharded.skipped} skipped (${shardedFiles.length} files)`);
for (const f of [...bun.failures, ...deno.failures, ...sharded.failures]) console.log(`FAILED ${f}`);
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 ? 1 : 0);
