/**
 * The one test command: runs every test file under Bun, the runtime-neutral suites under Deno, reads both
 * runners' JUnit reports, and prints one summary line `N passed, N failed, N skipped` (Bun's and Deno's own
 * summaries are not what CI reads).
 */
import { spawn } from "node:child_process";
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
  "tests/platform/port-connection-frames-move-and-come-back.test.ts",
  "tests/platform/port-connection-frames-go-in-shared-slots.test.ts",
  // Random operations on both ends checked against a model (streams, frames, slots, back-pressure, close).
  "tests/platform/port-connection-property.test.ts",
  "tests/platform/port-connection-paused-reader-gets-bytes-written-before-close.test.ts",
  "tests/platform/port-connection-closed-while-accepted-tells-its-handler.test.ts",
  // The broker's inbound framing and frame buffer pool (runtime-neutral), property-tested under Deno too.
  "tests/broker/frame-splitter-pool-property.test.ts",
  // A shard connection's frame slot copied in behind unread bytes goes back at once (Deno's SharedArrayBuffer ports).
  "tests/broker/slot-frame-behind-unread-bytes-frees-its-slot.test.ts",
  // A worker thread's log lines written before the call returns (src/platform/stderr.ts), under Deno's workers.
  "tests/platform/worker-log-lines-survive-its-termination.test.ts",
  // A node's shards in worker threads and the metadata mirror under Deno (the rest of tests/shard is Bun-only: CI time).
  "tests/shard/host-serves-partitions-on-owning-shards.test.ts",
  "tests/shard/metadata-mirror-keeps-order-and-forwards-writes.test.ts",
  // The same-thread connection pair (a shard's own front to its broker) against a model.
  "tests/shard/local-connection-property.test.ts",
  // Frame slots reused under concurrent large Produces, stored byte for byte (SharedArrayBuffers over Deno's ports).
  "tests/shard/frame-slots-keep-concurrent-produces-intact.test.ts",
  // Fetch records as file slices through Deno's FFI mmap (src/platform/deno-mmap.ts).
  "tests/shard/front-fetch-reads-file-slices.test.ts",
  // The front's cut of a partition's records to whole batches within a limit, over any chunking (pure, ~0.5 s).
  "tests/shard/records-prefix-property.test.ts",
  // HTTP side (metrics, readiness, JSON API) under Deno's node:http too; the browser and executable tests are Bun-only.
  "tests/http/metrics-report-known-workload.test.ts",
  "tests/http/json-api-state-changes.test.ts",
  "tests/http/ready-while-logs-recover.test.ts",
  "tests/http/http-tls-basic-bearer-auth-and-acls.test.ts",
  "tests/http/json-api-acls-and-users.test.ts",
  "tests/http/ready-in-cluster-mode-needs-registration.test.ts",
  "tests/cluster",
  "tests/security",
  // Fetch sessions (KIP-227) against a model, broker under Deno.
  "tests/broker/fetch-sessions-model-property.test.ts",
  // Connection creation rates (KIP-612): Kafka's sampled rate on an injected clock, and a broker under Deno's node:net.
  "tests/broker/connection-creation-rate-as-kafka.test.ts",
  "tests/broker/connection-creation-rate-quotas.test.ts",
  // A sharded node's threads publishing max.connections in one table: the newest change wins (pure, the real table).
  "tests/broker/node-connection-limit-follows-newest-change.test.ts",
];

/**
 * Files under DENO_SUITES left out of the Deno pass: every broker they test is a `bun src/cli/main.ts start`
 * process (tests/support/cluster-processes.ts, or startBrokerProcess("bun")), so under Deno the same Bun brokers
 * ran again and only the test's own client side changed (kafkajs, src/client and the etcd client, which the Deno
 * pass covers elsewhere). They run in the Bun pass; left out, they save about 200 s of Deno time.
 */
const DENO_SKIPS_BUN_BROKER_PROCESSES = [
  "tests/cluster/acks-all-answers-request-timed-out.test.ts",
  "tests/cluster/cluster-describe-command.test.ts",
  "tests/cluster/cluster-reassign-and-drain-commands.test.ts",
  "tests/cluster/consumer-reads-from-follower-in-its-rack.test.ts",
  "tests/cluster/controlled-shutdown-gives-up.test.ts",
  "tests/cluster/create-topics-with-a-replica-assignment.test.ts",
  "tests/cluster/dynamic-broker-configs-reach-every-broker.test.ts",
  "tests/cluster/etcd-down-three-brokers-keep-serving.test.ts",
  "tests/cluster/follower-restart-keeps-a-compacted-leaders-gaps.test.ts",
  "tests/cluster/group-coordinator-failover.test.ts",
  "tests/cluster/http-cluster-lists-every-registered-broker.test.ts",
  "tests/cluster/idempotent-produce-at-a-follower-answers-not-leader.test.ts",
  "tests/cluster/idempotent-retry-waits-for-commit.test.ts",
  "tests/cluster/inter-broker-listener-passes-max-connections.test.ts",
  "tests/cluster/leader-elections.test.ts",
  "tests/cluster/leader-kill-idempotent-producer-exactly-once.test.ts",
  "tests/cluster/list-offsets-at-a-follower.test.ts",
  "tests/cluster/min-insync-replicas-with-two-brokers-down.test.ts",
  "tests/cluster/network-partition-fences-old-leader.test.ts",
  "tests/cluster/producer-ids-unique-across-brokers.test.ts",
  "tests/cluster/reassignment-cancel-and-stale-replicas-delete-files.test.ts",
  "tests/cluster/reassignment-under-load.test.ts",
  "tests/cluster/rolling-restart-controlled-shutdown.test.ts",
  // sharded brokers of a cluster: Bun nodes only (sharded-brokers-keep-acked-records-when-one-dies stays in the Deno
  // pass: there its broker 3 is a Deno node)
  "tests/cluster/sharded-broker-admin-names-its-node-id.test.ts",
  "tests/cluster/sharded-broker-finds-coordinators-on-every-shard.test.ts",
  "tests/cluster/sharded-broker-restarts-with-another-shard-count.test.ts",
  "tests/cluster/sharded-broker-that-fails-leaves-the-cluster-at-once.test.ts",
  "tests/cluster/start-with-etcd-metadata.test.ts",
  "tests/cluster/three-brokers-replicate-byte-identical.test.ts",
  "tests/cluster/three-brokers-replicate-over-sasl-ssl.test.ts",
  "tests/cluster/topic-admin-at-any-broker-and-describe-topic-partitions.test.ts",
  "tests/cluster/transaction-coordinator-failover.test.ts",
];

/**
 * Real-client test files that run a second time with every node the shared helpers start sharded
 * (`RUNNEL_TEST_SHARDS`, docs/sharding.md): client round trips, consumer groups, transactions, security at the
 * front, the HTTP side, crash, power-cut and disk-failure recovery, the Kafka differential suites. An include list:
 * docs/sharding.md ("Tests") lists every file that does not run sharded and why. Files that reach into an
 * in-process Broker stay single-shard. The always-sharded tests run in the first pass.
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
  "tests/broker/open-file-limit-caps-connections.test.ts",
  // a full node holds new connections in every accepting thread and serves them as any thread frees a slot
  "tests/broker/full-listener-holds-new-connections.test.ts",
  // answers queued as views of the front's maps while their files are deleted, compacted or cut (docs/storage-views.md)
  "tests/broker/queued-fetch-views-survive-log-changes.test.ts",
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
  "tests/durability/disk-eio-takes-one-log-dir-offline.test.ts",
  "tests/durability/disk-full-takes-one-log-dir-offline.test.ts",
  // a failed log dir in a cluster of three: the controller moves the leadership, drops the ISR place (KIP-112)
  "tests/durability/leader-log-dir-eio-moves-leadership-in-a-cluster.test.ts",
  "tests/transactions/produce-v12-adds-partitions-implicitly.test.ts",
  "tests/transactions/pipelined-transactional-produce-keeps-sequence-order.test.ts",
  "tests/transactions/produce-while-another-add-is-written-retries.test.ts",
  // TLS, SASL (PLAIN, SCRAM, OAUTHBEARER), mTLS principals and ACLs terminated at the front; CLI over SASL_SSL
  "tests/security/sasl-plain-scram-kafkajs.test.ts",
  "tests/security/tls-sasl-librdkafka.test.ts",
  "tests/security/runnel-client-tls-sasl.test.ts",
  "tests/security/mtls-principal-acls.test.ts",
  "tests/security/oauthbearer-unsecured-jws.test.ts",
  "tests/security/oauthbearer-jwks-kafkajs.test.ts",
  "tests/security/acl-authorization-kafkajs.test.ts",
  "tests/cli/commands-over-sasl-ssl.test.ts",
  "tests/cli/user-and-acl-commands.test.ts",
  "tests/security/sasl-reauthentication.test.ts",
  "tests/security/sasl-oversized-and-truncated-tokens.test.ts",
  "tests/security/request-and-mutation-quotas.test.ts",
  "tests/security/client-quotas-throttle.test.ts",
  "tests/broker/admin-apis.test.ts",
  "tests/interop/kafka-streams-word-count-eos.test.ts",
  // __consumer_offsets compaction and restart, idempotence, fetch sessions (model-based property test, Java consumer resets), big frames, Kafka's log dumper on shard files
  "tests/broker/compaction-consumer-offsets-restart.test.ts",
  "tests/broker/compaction-keeps-latest-value-per-key.test.ts",
  "tests/broker/idempotence.test.ts",
  "tests/broker/fetch-sessions.test.ts",
  "tests/broker/fetch-sessions-model-property.test.ts",
  "tests/interop/java-consumer-fetch-session-reset.test.ts",
  "tests/broker/large-produce-frames-stored-intact.test.ts",
  "tests/broker/produce-frames-in-random-chunks-read-back-intact.test.ts",
  "tests/broker/list-offsets-nothing-found-has-no-epoch.test.ts",
  // Fetch and ListOffsets answers to odd requests as Kafka's (the front's dedup, order and limits; ~10 s sharded)
  "tests/broker/fetch-answers-as-kafka.test.ts",
  "tests/broker/list-offsets-partition-named-twice.test.ts",
  // ListOffsets by timestamp and max timestamp answer the found batch's epoch (read through the front after a restart)
  "tests/broker/list-offsets-by-timestamp-answers-the-batch-epoch.test.ts",
  "tests/broker/log-lines-escape-client-ids.test.ts",
  "tests/interop/kafka-dump-log-reads-runnel-files.test.ts",
  "tests/interop/kafka-dump-log-reads-consumer-group-records.test.ts",
  "tests/interop/java-consumer-regex-subscription.test.ts",
  // consumer groups read over the wire (tests/support/group-state.ts): kafkajs (a member killed, a broker restart), kcat -G
  "tests/group/kafkajs-consumer-groups.test.ts",
  "tests/group/kcat-consumer-group.test.ts",
  "tests/group/librdkafka-consumer-groups.test.ts",
  "tests/interop/kafka-cli-tools.test.ts",
  "tests/interop/kafka-consumer-groups-kip848.test.ts",
  "tests/interop/franz-go-consumer-protocol-group.test.ts",
  // transactions with kafkajs and confluent-kafka (consume-transform-produce, fencing); an open one across a restart
  "tests/transactions/kafkajs-transactional-producer.test.ts",
  "tests/transactions/librdkafka-transactional-producer.test.ts",
  "tests/transactions/broker-restart-open-transaction.test.ts",
  "tests/transactions/read-committed-lso-and-verification.test.ts",
  "tests/transactions/txn-apis-every-version.test.ts",
  "tests/interop/sarama-admin-and-transactions.test.ts",
  // the HTTP side of a sharded node: metrics, JSON API, console
  "tests/http/metrics-report-known-workload.test.ts",
  "tests/http/woken-fetch-path-from-produce-arrival.test.ts",
  "tests/http/json-api-state-changes.test.ts",
  "tests/http/json-api-acls-and-users.test.ts",
  "tests/http/console-create-topic-produce-and-browse.test.ts",
  "tests/http/console-group-lag-and-reset.test.ts",
  "tests/http/console-escapes-record-contents.test.ts",
  "tests/http/console-acls-and-users.test.ts",
  "tests/http/console-over-https-with-basic-auth.test.ts",
  // the Kafka differential suites (each answer matches a real Kafka JVM's), Java and Go codecs, the compression
  // pipeline, 3,000 partitions under a 1,024 open-files limit, bench's broker metrics (112 s together at load 2-3)
  "tests/oracle/admin-apis-match-kafka.test.ts",
  "tests/oracle/consumer-groups-match-kafka.test.ts",
  "tests/oracle/groups-transactions-match-kafka.test.ts",
  // random classic-group sequences vs Kafka (40 runs; the file 10-18 s with Kafka's start at load 6-10)
  "tests/oracle/classic-groups-random-match-kafka.test.ts",
  // random KIP-848 consumer group sequences vs Kafka (40 runs of 10-40 ops, ~10-20 s with Kafka's start)
  "tests/oracle/consumer-groups-random-match-kafka.test.ts",
  "tests/oracle/produce-fetch-match-kafka.test.ts",
  // random transaction/idempotence sequences vs Kafka (60 runs, ~20 s after Kafka starts)
  "tests/oracle/transactions-random-match-kafka.test.ts",
  // random admin sequences (topics, partitions, configs, deletions, DeleteRecords) vs Kafka (30 runs, ~10 s after Kafka starts)
  "tests/oracle/admin-random-match-kafka.test.ts",
  // random Produce validation (broken batches, codecs, timestamps, idempotence, acks) and offset APIs vs Kafka
  "tests/oracle/produce-random-match-kafka.test.ts",
  // random log compaction and retention runs (cleanup.policy, lags, tombstones, transactions committed and aborted,
  // retention.ms/bytes) vs Kafka: the log after the cleaner and retention settle (6 runs; the file 60-63 s with
  // Kafka's start at load 17-25, plain and 2 shards)
  "tests/oracle/compaction-random-match-kafka.test.ts",
  // random ACL changes and authorization probes (SASL PLAIN, StandardAuthorizer) vs Kafka (40 runs, 27-29 s incl. Kafka start at load 13)
  "tests/oracle/acls-random-match-kafka.test.ts",
  // random client-quota and SCRAM-credential sequences vs Kafka (20 runs, ~20 s with Kafka's start at load 10-12)
  "tests/oracle/quotas-scram-random-match-kafka.test.ts",
  // random sequences with broker restarts (SIGTERM, or SIGKILL on Runnel) vs Kafka: the state after each restart
  // (1 run, 1 restart; the file 24-40 s with Kafka's start and restart at load 7-13, plain and 2 shards)
  "tests/oracle/restart-random-match-kafka.test.ts",
  // part two: KIP-848 groups, SCRAM credentials, client quotas, dynamic broker and topic configs across restarts
  // (1 run, 2 restarts; the file ~50 s with Kafka's start and two restarts at load 12)
  "tests/oracle/restart-admin-random-match-kafka.test.ts",
  // random reads (Fetch at every version, limits, offsets, isolation, epochs; ListOffsets, OffsetForLeaderEpoch) of
  // random rolled logs with transactions and DeleteRecords vs Kafka (6 runs; the file ~15-30 s with Kafka's start)
  "tests/oracle/fetch-random-match-kafka.test.ts",
  // random cluster-admin sequences (replica assignments, reassignments, elections, log dirs, min ISR) on a 3-broker
  // Runnel cluster vs a 3-node Kafka KRaft cluster (6 runs of up to 14 ops; the file 49-88 s with both clusters
  // starts at load 12-23, plain and 2 shards; CLUSTER_ORACLE_OUTAGES=N adds broker outages)
  "tests/oracle/cluster-random-match-kafka.test.ts",
  "tests/interop/java-consumer-protocol-groups.test.ts",
  "tests/interop/java-compression-codecs.test.ts",
  "tests/interop/go-clients-compression-codecs.test.ts",
  "tests/broker/compression-pipeline.test.ts",
  "tests/broker/many-partitions-under-low-fd-limit.test.ts",
  "tests/cli/bench-broker-metrics-breakdown.test.ts",
  // TLS key material reloaded by every accepting thread; max.connections node-wide, every thread's listener paused
  "tests/security/tls-certificate-reload.test.ts",
  "tests/broker/connection-limits-and-timeouts.test.ts",
  // a listener's own max.connections (KIP-402) counted node-wide
  "tests/broker/listener-max-connections.test.ts",
  // connection creation rates (KIP-612) in every accepting thread's listener, counted in the node's shared table;
  // their gauges on /metrics once, from the main front
  "tests/broker/connection-creation-rate-quotas.test.ts",
  "tests/http/metrics-show-connection-accept-rates-and-throttles.test.ts",
  // read over the wire where they read broker internals (DescribeClientQuotas, DescribeUserScramCredentials, Fetch)
  "tests/cli/quota-commands.test.ts",
  "tests/security/kafka-tools-scram-users.test.ts",
  "tests/security/listeners-advertise-per-listener.test.ts",
  "tests/interop/platformatic-kafka-idempotence-transactions-groups.test.ts",
  "tests/broker/dynamic-broker-and-group-configs.test.ts",
  "tests/group/group-apis-every-version.test.ts",
  "tests/group/consumer-group-apis-every-version.test.ts",
  "tests/http/http-tls-basic-bearer-auth-and-acls.test.ts",
  "tests/security/oauthbearer-jwks-url.test.ts",
  // parked fetches by the purgatory size on /metrics, checkpoint files per shard, log ends by ListOffsets, a rebuilt
  // index by its file (what they read in-process, the loop turns and the codec watches, stays single-shard)
  "tests/broker/fetch-long-poll-topic-deleted.test.ts",
  "tests/broker/fetch-waiters-bounded-per-partition.test.ts",
  "tests/broker/partition-checkpoint-files.test.ts",
  "tests/broker/reads-rebuild-missing-index-in-steps.test.ts",
  "tests/broker/produce-codec-work-off-the-event-loop.test.ts",
  // acks=0 failures close the client's connection at the front; codec work and record counts read over the wire;
  // every shard recovers after an unclean stop
  "tests/broker/handler-failure-answers-unknown-server-error.test.ts",
  "tests/broker/produce-lz4-snappy-work-in-codec-threads.test.ts",
  "tests/broker/fetch-counts-compressed-records-from-headers.test.ts",
  "tests/http/ready-while-logs-recover.test.ts",
  // memory under overload, with the node-wide request budget (RSS bounds plus 40 MiB per shard past the first)
  "tests/broker/overload-keeps-serving.test.ts",
  // ACLs as Kafka answers them per resource and hides what a principal may not describe (Kafka's tools, Java clients)
  "tests/security/acl-hides-undescribable.test.ts",
  "tests/security/acl-per-resource-answers.test.ts",
  // refused requests' answers field by field as Kafka 4.4 (raw client: FindCoordinator before a group's OffsetFetch)
  "tests/security/acl-answers-as-kafka.test.ts",
  // the codec worker threads of a 2-shard node started by the compiled executable and by Deno
  "tests/broker/codec-threads-in-executable-and-deno.test.ts",
  // parked fetches end with the node's stop (every thread's front stops before any shard)
  "tests/broker/fetch-long-poll-answered-at-stop.test.ts",
  // every served API and version fuzzed through the front (the list by ApiVersions, the log read after the stop)
  "tests/broker/fuzz-requests.test.ts",
  // mutated captured frames over TCP through the front (the in-memory 100,000-frame run stays single-shard)
  "tests/broker/fuzz-mutated-captured-frames.test.ts",
  // three sharded brokers of an etcd cluster (docs/sharding.md, "A sharded broker of an etcd cluster"): group and
  // transaction coordinator failover, controlled shutdown, reassignment and drain, min.insync.replicas, producer
  // ids, dynamic broker configs, etcd down, a fenced old leader (the other cluster files that pass sharded are left
  // to the one-shard pass for CI time; docs/sharding.md, Tests, lists them)
  "tests/cluster/group-coordinator-failover.test.ts",
  "tests/cluster/transaction-coordinator-failover.test.ts",
  "tests/cluster/rolling-restart-controlled-shutdown.test.ts",
  "tests/cluster/controlled-shutdown-gives-up.test.ts",
  "tests/cluster/cluster-reassign-and-drain-commands.test.ts",
  "tests/cluster/cluster-describe-command.test.ts",
  "tests/cluster/min-insync-replicas-with-two-brokers-down.test.ts",
  "tests/cluster/acks-all-answers-request-timed-out.test.ts",
  "tests/cluster/idempotent-retry-waits-for-commit.test.ts",
  "tests/cluster/idempotent-produce-at-a-follower-answers-not-leader.test.ts",
  // the inter-broker listener over max.connections closes a client connection in whichever thread holds one
  "tests/cluster/inter-broker-listener-passes-max-connections.test.ts",
  "tests/cluster/producer-ids-unique-across-brokers.test.ts",
  "tests/cluster/dynamic-broker-configs-reach-every-broker.test.ts",
  "tests/cluster/start-with-etcd-metadata.test.ts",
  "tests/cluster/list-offsets-at-a-follower.test.ts",
  "tests/cluster/etcd-down-three-brokers-keep-serving.test.ts",
  "tests/cluster/network-partition-fences-old-leader.test.ts",
  // byte-identical replicas and FindCoordinator at every broker; replication over a SASL_SSL inter-broker listener
  // (each shard dials the other brokers with the node's inter-broker TLS and SASL)
  "tests/cluster/three-brokers-replicate-byte-identical.test.ts",
  "tests/cluster/three-brokers-replicate-over-sasl-ssl.test.ts",
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
    const f = /\bfile="([^"]+)"/.exec(attrs)?.[1] ?? /\bclassname="([^"]*)"/.exec(attrs)?.[1] ?? "";
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

/**
 * With several lanes the Bun pass runs as these jobs, one `bun test` each, the longest first (on a quiet machine:
 * about 4, 3, 2, 1.5, 1.5 and 1.3 minutes), so that the lanes can share the work out: directories of tests/, and
 * "rest", every file in none of them.
 */
const BUN_JOBS = ["tests/cluster", "rest", "tests/interop", "tests/sim", "tests/security", "tests/broker"];

/**
 * Lanes running at once (RUNNEL_TEST_LANES, default 2): each lane takes the next job from one queue (the Deno
 * pass, the sharded pass, then the Bun pass's jobs) until none is left, so the lanes end together whatever the
 * load. The tests mostly wait on sockets, timers and child processes, so two processes share 2 cores well. 1 runs
 * the Bun pass over tests/ in one process, then the Deno pass, then the sharded pass, as before.
 */
const LANES = Number(process.env.RUNNEL_TEST_LANES ?? 2);
if (!Number.isInteger(LANES) || LANES < 1 || LANES > 4) throw new Error(`RUNNEL_TEST_LANES must be 1 to 4, got ${process.env.RUNNEL_TEST_LANES}`);

/** Every test file under `dir` (what `bun test dir` finds), as paths relative to the repository. */
function testFiles(dir: string): string[] {
  const found: string[] = [];
  for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "node_modules" && !e.name.startsWith(".")) found.push(...testFiles(rel));
    } else if (/[._](test|spec)\.[cm]?[jt]sx?$/.test(e.name)) found.push(rel);
  }
  return found.sort();
}

/**
 * Runs one pass and resolves with its exit code. Its output goes to the console line by line, each line prefixed
 * with the lane's name when lanes run at once, and whole to `.test-results/<name>.log`.
 */
function run(name: string, cmd: string, args: string[], limitMs?: number, env: Record<string, string> = {}): Promise<number> {
  const started = Date.now();
  const prefix = LANES > 1 && only.length === 0 ? `[${name}] ` : "";
  const logFile = fs.createWriteStream(path.join(out, `${name}.log`));
  const say = (line: string) => {
    console.log(prefix + line);
    logFile.write(line + "\n");
  };
  say(`$ ${Object.entries(env).map(([k, v]) => `${k}=${v} `).join("")}${path.basename(cmd)} ${args.join(" ")}`);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1", ...env } });
    const lines = (stream: NodeJS.ReadableStream) => {
      let rest = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop()!;
        for (const l of parts) say(l);
      });
      stream.on("end", () => {
        if (rest !== "") say(rest);
      });
    };
    lines(child.stdout!);
    lines(child.stderr!);
    let killedAfterLimit = false;
    const limit = limitMs === undefined ? null : setTimeout(() => {
      killedAfterLimit = true;
      child.kill("SIGKILL");
    }, limitMs);
    child.on("close", (code, signal) => {
      if (limit) clearTimeout(limit);
      if (signal) say(`${path.basename(cmd)} killed by ${signal}${killedAfterLimit ? ` (limit ${limitMs} ms)` : ""}`);
      say(`(${name}: ${path.basename(cmd)} took ${((Date.now() - started) / 1000).toFixed(0)} s)`);
      logFile.end();
      resolve(code ?? 1);
    });
  });
}

const only = process.argv.slice(2);
const denoXml = path.join(out, "deno.xml");
const shardedXml = path.join(out, "bun-sharded.xml");
for (const f of fs.readdirSync(out)) if (/^(bun|deno).*\.xml$|\.log$/.test(f)) fs.rmSync(path.join(out, f), { force: true });
const none = (): Counts => ({ passed: 0, failed: 0, skipped: 0, failures: [] });
const add = (a: Counts, b: Counts): Counts => ({ passed: a.passed + b.passed, failed: a.failed + b.failed, skipped: a.skipped + b.skipped, failures: [...a.failures, ...b.failures] });
const bunArgs = (xml: string) => ["test", "--timeout", "300000", "--reporter=junit", `--reporter-outfile=${xml}`];
const startedAll = Date.now();

/** The Bun pass of `files` (all of tests/ when given none) as job `name`. */
async function bunPass(name: string, files: string[]): Promise<Counts> {
  const xml = path.join(out, `${name.replace(/[^a-z0-9-]/gi, "-")}.xml`);
  await run(name, bin("bun"), [...bunArgs(xml), ...files]);
  return countJunit(xml, "bun");
}

async function denoPass(): Promise<Counts> {
  for (const f of DENO_SKIPS_BUN_BROKER_PROCESSES) if (!fs.existsSync(path.join(root, f))) console.log(`run.ts: DENO_SKIPS_BUN_BROKER_PROCESSES names ${f}, which is gone`);
  const files = DENO_SUITES.filter((s) => fs.existsSync(path.join(root, s)))
    .flatMap((s) => (fs.statSync(path.join(root, s)).isDirectory() ? testFiles(s) : [s]))
    .filter((f) => !DENO_SKIPS_BUN_BROKER_PROCESSES.includes(f));
  await run("deno", bin("deno"), ["test", "-A", "--no-check", `--junit-path=${denoXml}`, ...files.map((f) => `./${f}`)], DENO_RUN_LIMIT_MS);
  return countJunit(denoXml, "deno");
}

const shardedFiles = only.length === 0 ? SHARDED_SUITES.filter((s) => fs.existsSync(path.join(root, s))) : [];
async function shardedPass(): Promise<Counts> {
  if (shardedFiles.length === 0) return none();
  console.log(`\nsharded pass: these files run again with RUNNEL_TEST_SHARDS=${SHARDED_PASS_SHARDS} (every node they start has ${SHARDED_PASS_SHARDS} shards):\n  ${shardedFiles.join("\n  ")}`);
  await run("sharded", bin("bun"), [...bunArgs(shardedXml), ...shardedFiles], undefined, { RUNNEL_TEST_SHARDS: String(SHARDED_PASS_SHARDS) });
  return countJunit(shardedXml, `bun (${SHARDED_PASS_SHARDS} shards)`);
}

let bun = none();
let deno = none();
let sharded = none();
if (only.length > 0) {
  bun = await bunPass("bun", only);
} else if (LANES === 1) {
  bun = await bunPass("bun", ["tests/"]);
  deno = await denoPass();
  sharded = await shardedPass();
} else {
  // the Bun jobs' file lists split tests/ between them: every file runs in exactly one
  const all = testFiles("tests");
  const jobOf = (f: string) => BUN_JOBS.find((d) => d !== "rest" && f.startsWith(d + "/")) ?? "rest";
  const bunJobs = BUN_JOBS.map((job) => ({ job, files: all.filter((f) => jobOf(f) === job).map((f) => `./${f}`) })).filter((j) => j.files.length > 0);
  const queue: (() => Promise<void>)[] = [
    async () => void (deno = await denoPass()),
    async () => void (sharded = await shardedPass()),
    ...bunJobs.map(({ job, files }) => async () => {
      const counts = await bunPass(`bun:${job.replace(/^tests\//, "")}`, files);
      bun = add(bun, counts); // after the await: another lane may have added its job's counts meanwhile
    }),
  ];
  console.log(`${LANES} lanes take these jobs in turn: deno, sharded, ${bunJobs.map((j) => `bun:${j.job.replace(/^tests\//, "")} (${j.files.length} files)`).join(", ")}`);
  const lane = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) await job();
  };
  await Promise.all(Array.from({ length: LANES }, lane));
}

const total = add(add(bun, deno), sharded);
console.log(`\nall passes took ${((Date.now() - startedAll) / 1000).toFixed(0)} s (${LANES} lane${LANES > 1 ? "s" : ""}; each pass's output is also in .test-results/*.log)`);
console.log(`bun:  ${bun.passed} passed, ${bun.failed} failed, ${bun.skipped} skipped`);
console.log(`deno: ${deno.passed} passed, ${deno.failed} failed, ${deno.skipped} skipped`);
if (shardedFiles.length > 0) console.log(`bun, ${SHARDED_PASS_SHARDS} shards: ${sharded.passed} passed, ${sharded.failed} failed, ${sharded.skipped} skipped (${shardedFiles.length} files)`);
for (const f of total.failures) console.log(`FAILED ${f}`);
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 ? 1 : 0);
