/**
 * Broker settings under Kafka's own key names. Values come from, in rising priority: built-in defaults, a
 * Kafka-style `server.properties` file (`--config`), environment variables (`RUNNEL_LOG_DIRS` for `log.dirs`:
 * upper case, dots and dashes to underscores), and `--override key=value` flags.
 */
import * as nodeFs from "node:fs";
import { parsePerIpOverrides } from "./connection-quotas.ts";

/** The type of a broker setting. */
export type BrokerConfigType = "string" | "int" | "long" | "boolean" | "list";

/** One known broker setting. */
export interface BrokerConfigDef {
  /** Kafka key, e.g. `log.dirs`. */
  key: string;
  /** Value type. */
  type: BrokerConfigType;
  /** Default as a string (Kafka style), or null when unset. */
  default: string | null;
  /** One-line description. */
  doc: string;
}

const LONG_MAX = "9223372036854775807";

/** Most shards one node may run (`runnel.shards`): one worker thread each, far beyond any core count we serve. */
export const RUNNEL_SHARDS_MAX = 256;
/** Largest `socket.listen.backlog.size`: the connections a listener holds waiting, each with a descriptor. */
export const LISTEN_BACKLOG_MAX = 65_535;

/** Every broker setting Runnel reads, with Kafka's defaults except where noted. */
export const BROKER_CONFIG_DEFS: readonly BrokerConfigDef[] = [
  { key: "node.id", type: "int", default: "1", doc: "This broker's id." },
  { key: "listeners", type: "list", default: "PLAINTEXT://127.0.0.1:9092", doc: "Where to listen (Runnel default binds loopback)." },
  { key: "advertised.listeners", type: "list", default: null, doc: "Addresses given to clients in Metadata; defaults to listeners." },
  { key: "log.dirs", type: "list", default: null, doc: "Data directories (default ./runnel-data)." },
  { key: "log.dir", type: "string", default: "./runnel-data", doc: "Data directory when log.dirs is unset." },
  { key: "num.partitions", type: "int", default: "1", doc: "Partitions of an auto-created topic." },
  { key: "default.replication.factor", type: "int", default: "1", doc: "Replication factor of an auto-created topic." },
  { key: "auto.create.topics.enable", type: "boolean", default: "true", doc: "Create a topic when Metadata or Produce names an unknown one." },
  { key: "delete.topic.enable", type: "boolean", default: "true", doc: "Allow DeleteTopics." },
  { key: "log.retention.ms", type: "long", default: null, doc: "Retention by time; overrides minutes and hours." },
  { key: "log.retention.minutes", type: "int", default: null, doc: "Retention by time in minutes." },
  { key: "log.retention.hours", type: "int", default: "168", doc: "Retention by time in hours." },
  { key: "log.retention.bytes", type: "long", default: "-1", doc: "Retention by partition size." },
  { key: "log.segment.bytes", type: "int", default: "1073741824", doc: "Segment size before roll." },
  { key: "log.roll.ms", type: "long", default: null, doc: "Segment age before roll; overrides hours." },
  { key: "log.roll.hours", type: "int", default: "168", doc: "Segment age before roll in hours." },
  { key: "log.index.interval.bytes", type: "int", default: "4096", doc: "Bytes between offset index entries." },
  { key: "log.index.size.max.bytes", type: "int", default: "10485760", doc: "Largest offset index before roll." },
  { key: "log.preallocate", type: "boolean", default: "false", doc: "Topics' default for preallocate: zero-filled, fdatasynced space ahead of the active segment (acks=all fdatasyncs write only data)." },
  { key: "log.flush.interval.messages", type: "long", default: LONG_MAX, doc: "Messages between forced flushes." },
  { key: "log.flush.interval.ms", type: "long", default: null, doc: "Time between forced flushes." },
  { key: "log.retention.check.interval.ms", type: "long", default: "300000", doc: "How often retention runs." },
  { key: "runnel.log.flush.overlapping", type: "int", default: "1", doc: "Runnel: most fdatasyncs of one partition that may run at once (acks=all group commit). 1: a flush asked for while one runs waits for it, then covers everyone who asked meanwhile; 2: it starts at once and counts (moves the recovery point, answers acks=all) only after the earlier one." },
  { key: "runnel.log.pretouch.bytes", type: "int", default: "0", doc: "Runnel: bytes of zeros kept written ahead of an active segment's end by appends of runnel.log.pretouch.min.append.bytes or more, appended by the thread pool (O_APPEND), so that the event loop's appends overwrite page-cache pages that already exist instead of allocating new ones. Not fdatasynced; cut off at roll, close and truncation; none are appended for runnel.log.pretouch.pause.ms after a flush was asked for (acks=all). 0 (the default): off; 8388608 was tried as the default and moved the event loop's cost to the thread pool without raising ingest on a 2-core machine (bench/results/ingest-profile.md). Topics with preallocate use its zeros instead." },
  { key: "runnel.log.pretouch.pause.ms", type: "long", default: "1000", doc: "Runnel: how long after a partition's flush was asked for (acks=all, flush.messages, flush.ms) its appends start no zeros ahead (runnel.log.pretouch.bytes), since an fdatasync also writes out zeros not yet overwritten. 0: always." },
  { key: "runnel.log.pretouch.min.append.bytes", type: "int", default: "32768", doc: "Runnel: smallest append that keeps zeros coming ahead (runnel.log.pretouch.bytes): bulk ingest; smaller appends start none, so that slow partitions do not each hold the space." },
  { key: "runnel.log.flush.rounds", type: "boolean", default: "false", doc: "Runnel: acks=all fdatasyncs run in broker-wide rounds (one round at a time covers every partition that asked since the last one started) instead of one group-commit queue per partition." },
  { key: "log.flush.offset.checkpoint.interval.ms", type: "int", default: "60000", doc: "How often recovery points are checkpointed." },
  { key: "log.message.timestamp.type", type: "string", default: "CreateTime", doc: "CreateTime or LogAppendTime." },
  { key: "log.cleanup.policy", type: "list", default: "delete", doc: "delete and/or compact." },
  { key: "log.cleaner.enable", type: "boolean", default: "true", doc: "Run the log cleaner (compaction of cleanup.policy=compact topics)." },
  { key: "log.cleaner.threads", type: "int", default: "1", doc: "Cleaner threads (Runnel runs one stepwise cleaner task; accepted and reported)." },
  { key: "log.cleaner.backoff.ms", type: "long", default: "15000", doc: "Pause between the cleaner's looks for dirty logs when none is due." },
  { key: "log.cleaner.dedupe.buffer.size", type: "long", default: "134217728", doc: "Memory for the cleaner's key -> offset map (24 bytes a key, filled to 75%)." },
  { key: "compression.type", type: "string", default: "producer", doc: "Codec for stored batches (producer keeps the client's)." },
  { key: "message.max.bytes", type: "int", default: "1048588", doc: "Largest record batch accepted." },
  { key: "socket.request.max.bytes", type: "int", default: "104857600", doc: "Largest request frame; larger closes the connection." },
  { key: "queued.max.requests", type: "int", default: "500", doc: "Requests read and not yet answered, broker-wide, before connections stop reading." },
  { key: "min.insync.replicas", type: "int", default: "1", doc: "Replicas that must have a write for acks=all." },
  { key: "max.request.partition.size.limit", type: "int", default: "2000", doc: "Most partitions one DescribeTopicPartitions answer carries." },
  { key: "offsets.topic.num.partitions", type: "int", default: "50", doc: "Partitions of __consumer_offsets." },
  { key: "offsets.topic.replication.factor", type: "int", default: "3", doc: "Replication factor of __consumer_offsets; at most the registered brokers (1 on a single node)." },
  { key: "offsets.topic.segment.bytes", type: "int", default: "104857600", doc: "Segment size of __consumer_offsets." },
  { key: "offsets.retention.minutes", type: "int", default: "10080", doc: "How long committed offsets of an empty group are kept." },
  { key: "offsets.retention.check.interval.ms", type: "long", default: "600000", doc: "How often expired offsets are removed." },
  { key: "group.initial.rebalance.delay.ms", type: "int", default: "3000", doc: "Wait for more members before the first rebalance of an empty group." },
  { key: "group.min.session.timeout.ms", type: "int", default: "6000", doc: "Smallest session.timeout.ms a member may ask." },
  { key: "group.max.session.timeout.ms", type: "int", default: "1800000", doc: "Largest session.timeout.ms a member may ask." },
  { key: "group.max.size", type: "int", default: "2147483647", doc: "Most members in one group." },
  { key: "group.consumer.session.timeout.ms", type: "int", default: "45000", doc: "Session timeout of consumer-protocol (KIP-848) group members." },
  { key: "group.consumer.min.session.timeout.ms", type: "int", default: "45000", doc: "Smallest consumer.session.timeout.ms a consumer group may set." },
  { key: "group.consumer.max.session.timeout.ms", type: "int", default: "60000", doc: "Largest consumer.session.timeout.ms a consumer group may set." },
  { key: "group.consumer.heartbeat.interval.ms", type: "int", default: "5000", doc: "Heartbeat interval given to consumer-protocol group members." },
  { key: "group.consumer.min.heartbeat.interval.ms", type: "int", default: "5000", doc: "Smallest consumer.heartbeat.interval.ms a consumer group may set." },
  { key: "group.consumer.max.heartbeat.interval.ms", type: "int", default: "15000", doc: "Largest consumer.heartbeat.interval.ms a consumer group may set." },
  { key: "group.consumer.max.size", type: "int", default: "2147483647", doc: "Most members in one consumer-protocol group." },
  { key: "group.consumer.assignors", type: "list", default: "uniform,range", doc: "Server-side assignors; the first is the default." },
  { key: "group.consumer.migration.policy", type: "string", default: "bidirectional", doc: "Conversion of non-empty groups between classic and consumer protocols: bidirectional, upgrade, downgrade or disabled." },
  { key: "fetch.max.bytes", type: "int", default: "57671680", doc: "Largest Fetch response." },
  { key: "max.incremental.fetch.session.cache.slots", type: "int", default: "1000", doc: "Fetch sessions kept." },
  { key: "min.incremental.fetch.session.eviction.ms", type: "int", default: "120000", doc: "A full session cache evicts, for a consumer's new session, only sessions older than this (or unused this long)." },
  // Partitions (src/partition).
  { key: "fetch.purgatory.max.waiting.per.partition", type: "int", default: "1000", doc: "Long-poll fetches parked on one partition; past it a fetch is answered at once (Runnel)." },
  { key: "replica.high.watermark.checkpoint.interval.ms", type: "long", default: "5000", doc: "How often high watermarks are written to replication-offset-checkpoint." },
  { key: "replica.fetch.wait.max.ms", type: "int", default: "500", doc: "Longest a follower's fetch waits at the leader for data." },
  { key: "replica.fetch.min.bytes", type: "int", default: "1", doc: "Bytes a follower's fetch waits for at the leader." },
  { key: "replica.fetch.max.bytes", type: "int", default: "1048576", doc: "Bytes a follower fetches per partition per request (at least one batch)." },
  { key: "replica.fetch.response.max.bytes", type: "int", default: "10485760", doc: "Bytes a follower fetches per request (at least one batch)." },
  { key: "replica.fetch.backoff.ms", type: "int", default: "1000", doc: "Pause of a follower's fetcher after a failed fetch." },
  { key: "replica.lag.time.max.ms", type: "long", default: "30000", doc: "A follower not caught up for this long leaves the ISR (checked every half of it)." },
  { key: "leader.replication.throttled.rate", type: "long", default: LONG_MAX, doc: "Bytes/s a leader serves to out-of-sync followers of the partitions in leader.replication.throttled.replicas (dynamic)." },
  { key: "follower.replication.throttled.rate", type: "long", default: LONG_MAX, doc: "Bytes/s an out-of-sync follower fetches of the partitions in follower.replication.throttled.replicas (dynamic)." },
  { key: "replication.quota.window.num", type: "int", default: "11", doc: "Samples kept for replication throttle rates." },
  { key: "replication.quota.window.size.seconds", type: "int", default: "1", doc: "Length of one replication throttle sample." },
  { key: "replica.selector.class", type: "string", default: null, doc: "KIP-392: org.apache.kafka.common.replica.RackAwareReplicaSelector lets consumers read from a replica in their rack." },
  { key: "connections.max.idle.ms", type: "long", default: "600000", doc: "Idle connections are closed after this." },
  // Network limits (src/broker/kafka-listener.ts and the modules it wires: connection-quotas, connection-timeouts, request-budget).
  { key: "max.connections", type: "int", default: "2147483647", doc: "Open connections served; at the limit new connections wait, accepted and unread, up to socket.listen.backlog.size per listener, until one closes (also capped by the open-file limit); the inter-broker listener of a broker with several is not held, and its connections over the limit close other listeners' least recently used ones. listener.name.<listener>.max.connections limits one listener (default: this value)." },
  { key: "socket.listen.backlog.size", type: "int", default: "50", doc: `Connections each listener holds accepted and unread while it is full (max.connections or its own limit) or waiting out a connection creation rate, served oldest first as slots free; more are closed at once (Kafka's listen backlog, KIP-764). 1 to ${LISTEN_BACKLOG_MAX}.` },
  { key: "max.connections.per.ip", type: "int", default: "2147483647", doc: "Open connections from one address; more are closed at once." },
  { key: "max.connections.per.ip.overrides", type: "string", default: "", doc: "Per-address limits, host:count,host:count." },
  { key: "max.connection.creation.rate", type: "int", default: "2147483647", doc: "Connections the broker accepts per second (KIP-612, over quota.window.num windows of quota.window.size.seconds); faster, each listener waits before it serves the next one. The inter-broker listener is exempt when there are several; listener.name.<listener>.max.connection.creation.rate limits one listener (default: this value)." },
  { key: "queued.max.request.bytes", type: "long", default: "268435456", doc: "Request bytes read and not yet answered (plus responses waiting for slow readers), broker-wide, before connections stop reading (Kafka default -1 = unlimited; Runnel bounds it)." },
  { key: "queued.max.requests.per.connection", type: "int", default: "100", doc: "Runnel: pipelined requests one connection may have in flight before its reads pause." },
  { key: "socket.request.read.timeout.ms", type: "long", default: "30000", doc: "Runnel: a request frame must arrive whole within this time (slow or stalled senders are closed)." },
  { key: "transactional.id.expiration.ms", type: "int", default: "604800000", doc: "Expiry of idle transactional ids." },
  { key: "producer.id.expiration.ms", type: "int", default: "86400000", doc: "Expiry of idle producer ids (dynamic, as in Kafka: a change reaches open partitions). Runnel: a partition drops a producer's KIP-890 verification guard (a transactional batch that waited to join its transaction and never did) after this long; and a producer with no open transaction whose last write is this old is dropped every producer.id.expiration.check.interval.ms (and when a partition's producer snapshot is loaded); producer entries are also bounded by count (10,000 per partition, least recently used dropped)." },
  { key: "producer.id.expiration.check.interval.ms", type: "int", default: "600000", doc: "How often each partition drops the producers expired by producer.id.expiration.ms (Kafka's default, 10 minutes)." },
  { key: "transaction.max.timeout.ms", type: "int", default: "900000", doc: "Largest transaction timeout a producer may ask." },
  { key: "transaction.state.log.num.partitions", type: "int", default: "50", doc: "Partitions of __transaction_state." },
  { key: "transaction.state.log.replication.factor", type: "int", default: "3", doc: "Replication factor of __transaction_state; at most the registered brokers (1 on a single node)." },
  { key: "transaction.state.log.segment.bytes", type: "int", default: "104857600", doc: "Segment size of __transaction_state." },
  { key: "transaction.abort.timed.out.transaction.cleanup.interval.ms", type: "int", default: "10000", doc: "How often timed-out transactions are aborted." },
  { key: "transaction.remove.expired.transaction.cleanup.interval.ms", type: "int", default: "3600000", doc: "How often expired transactional ids are removed." },
  { key: "cluster.id", type: "string", default: null, doc: "Cluster id for a new data directory (random when unset)." },
  // Shards (src/shard, docs/sharding.md): worker threads of one node, each owning a disjoint set of partitions.
  { key: "runnel.shards", type: "int", default: "1", doc: `Runnel: shards (worker threads) of this node, 1 to ${RUNNEL_SHARDS_MAX}; each owns a disjoint set of partitions behind one front. 1: the single-node broker, no workers.` },
  { key: "runnel.shards.stop.timeout.ms", type: "int", default: "60000", doc: "Runnel: how long a stopping sharded node waits for each shard to close its logs; a shard still running then has its thread terminated and the node exits with an error (its logs are recovered at the next start)." },
  { key: "runnel.shards.accept", type: "boolean", default: "true", doc: "Runnel: with runnel.shards > 1 on Bun, or Deno on Linux, every shard thread also accepts client connections on the node's listeners (SO_REUSEPORT: the kernel spreads connections over the threads) and routes what it does not own; false or another runtime: only the main thread's front accepts." },
  { key: "runnel.shards.frame.slots", type: "boolean", default: "true", doc: "Runnel: with runnel.shards > 1, a front copies each Produce frame it forwards (64 KiB to 4 MiB) into a SharedArrayBuffer slot shared once with the shard and named by number, which the shard frees when its handler is done, so no buffer crosses between threads per frame (a crossing buffer counts as fresh memory in the receiving thread's heap and brings its garbage collections forward); false: the frame's buffer moves when nothing else is in it, else it is copied into a buffer that moves and comes back." },
  { key: "runnel.shards.fetch.slices", type: "boolean", default: "true", doc: "Runnel: with runnel.shards > 1, a shard answers its node's fronts' Fetch with where the records lie in the segment files and the front writes views of its own read-only map of those files to the socket (no copy of record data between threads); false: the shard copies the records into its answer." },
  // HTTP (src/http): metrics, health, JSON API and console.
  { key: "log.open.files.max", type: "int", default: null, doc: "Runnel: most log files (segments and indexes) open at once; idle ones are closed and reopened on use (default: half the open-files limit left after 64 reserved)." },
  { key: "http.listeners", type: "list", default: "", doc: "HTTP listeners for /metrics, /v1/health, /v1/ready, the /v1 JSON API and the web console, e.g. http://127.0.0.1:9644 or https://0.0.0.0:9644 (TLS from listener.name.http.ssl.* or ssl.*; off when empty)." },
  { key: "http.authentication.methods", type: "list", default: "", doc: "How HTTP callers authenticate: BASIC (basic auth against the SASL PLAIN and SCRAM users) and/or BEARER (http.authentication.bearer.tokens); empty: no authentication (User:ANONYMOUS)." },
  { key: "http.authentication.bearer.tokens", type: "list", default: "", doc: "Bearer tokens for the HTTP side, as <user>:<token> entries (the caller is User:<user>)." },
  { key: "http.authentication.exempt.paths", type: "list", default: "/metrics,/v1/health,/v1/ready", doc: "HTTP paths served without credentials (Prometheus and health probes)." },
  // Cluster mode (src/cluster): metadata in etcd. Unset endpoints: a single node with its local metadata file.
  { key: "metadata.etcd.endpoints", type: "list", default: "", doc: "etcd client URLs (http://host:port,...) holding the cluster metadata; empty: single node." },
  { key: "broker.rack", type: "string", default: null, doc: "Rack of this broker, for rack-aware replica placement." },
  { key: "broker.session.timeout.ms", type: "int", default: "9000", doc: "How long the broker's registration lease lives in etcd without keep-alives." },
  { key: "unclean.leader.election.enable", type: "boolean", default: "false", doc: "Elect a leader outside the ISR when no ISR member is alive (data loss)." },
  { key: "auto.leader.rebalance.enable", type: "boolean", default: "true", doc: "The controller moves leadership back to preferred (first) replicas when a broker's imbalance passes leader.imbalance.per.broker.percentage." },
  { key: "leader.imbalance.per.broker.percentage", type: "int", default: "10", doc: "Percentage of a broker's preferred leaderships held by others above which the controller rebalances." },
  { key: "leader.imbalance.check.interval.seconds", type: "long", default: "300", doc: "How often the controller checks the leader imbalance." },
  { key: "controlled.shutdown.enable", type: "boolean", default: "true", doc: "On SIGTERM, hand this broker's leaderships to other ISR members before stopping (cluster mode)." },
  { key: "controlled.shutdown.max.retries", type: "int", default: "3", doc: "Attempts of a controlled shutdown, each waiting controlled.shutdown.retry.backoff.ms, before the broker stops anyway." },
  { key: "controlled.shutdown.retry.backoff.ms", type: "long", default: "5000", doc: "How long each controlled shutdown attempt waits for the leaderships to move." },
  // Security (src/security): listeners' protocols, TLS and SASL. Most ssl.* and sasl.* keys may be given per listener
  // as `listener.name.<listener>.<key>` (SASL login configs as `listener.name.<listener>.<mechanism>.sasl.jaas.config`).
  { key: "listener.security.protocol.map", type: "string", default: "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", doc: "Listener name to security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)." },
  { key: "inter.broker.listener.name", type: "string", default: null, doc: "Listener brokers use to talk to each other (default: the first listener)." },
  { key: "ssl.keystore.type", type: "string", default: "PEM", doc: "Runnel reads PEM only." },
  { key: "ssl.keystore.location", type: "string", default: null, doc: "PEM file with the server's private key and certificate chain." },
  { key: "ssl.keystore.key", type: "string", default: null, doc: "Inline PEM private key (instead of ssl.keystore.location)." },
  { key: "ssl.keystore.certificate.chain", type: "string", default: null, doc: "Inline PEM certificate chain (instead of ssl.keystore.location)." },
  { key: "ssl.key.password", type: "string", default: null, doc: "Password of an encrypted private key." },
  { key: "ssl.truststore.type", type: "string", default: "PEM", doc: "Runnel reads PEM only." },
  { key: "ssl.truststore.location", type: "string", default: null, doc: "PEM file with the CA certificates that client certificates must chain to." },
  { key: "ssl.truststore.certificates", type: "string", default: null, doc: "Inline PEM CA certificates (instead of ssl.truststore.location)." },
  { key: "ssl.client.auth", type: "string", default: "none", doc: "required, requested or none: whether clients must present a certificate." },
  { key: "ssl.principal.mapping.rules", type: "string", default: "DEFAULT", doc: "Rules mapping a certificate subject to a principal name (RULE:pattern/replacement/[LU], DEFAULT)." },
  { key: "authorizer.class.name", type: "string", default: "", doc: "Any non-empty value (e.g. org.apache.kafka.metadata.authorizer.StandardAuthorizer) turns on ACL authorization." },
  { key: "super.users", type: "string", default: "", doc: "Principals allowed everything, separated by ';' (User:admin;User:ops)." },
  { key: "allow.everyone.if.no.acl.found", type: "boolean", default: "false", doc: "Allow an operation on a resource that has no ACL at all." },
  { key: "sasl.server.max.receive.size", type: "int", default: "524288", doc: "Largest request frame accepted on a SASL listener before the client's first authentication completes." },
  { key: "connections.max.reauth.ms", type: "long", default: "0", doc: "KIP-368: SASL clients must re-authenticate within this time (an OAUTHBEARER token's expiry shortens it); 0 = never." },
  { key: "quota.window.num", type: "int", default: "11", doc: "Samples kept for client quota rates." },
  { key: "quota.window.size.seconds", type: "int", default: "1", doc: "Length of one client quota rate sample." },
  { key: "controller.quota.window.num", type: "int", default: "11", doc: "Samples kept for controller_mutation_rate quotas (KIP-599)." },
  { key: "controller.quota.window.size.seconds", type: "int", default: "1", doc: "Length of one controller_mutation_rate sample." },
  { key: "sasl.jaas.config", type: "string", default: null, doc: "Login config for every SASL listener without its own listener.name.<listener>.<mechanism>.sasl.jaas.config (PLAIN users as user_<name>=\"<password>\")." },
  { key: "ssl.reload.check.interval.ms", type: "long", default: "10000", doc: "Runnel: how often TLS listeners read their PEM files again; changed key material is used for new connections." },
  { key: "sasl.oauthbearer.jwks.endpoint.url", type: "string", default: null, doc: "OAUTHBEARER: JWKS with the keys that sign accepted tokens (https://, http:// or file:///path; when unset, unsecured tokens are accepted)." },
  { key: "sasl.oauthbearer.jwks.endpoint.refresh.ms", type: "long", default: "3600000", doc: "OAUTHBEARER: how often the JWKS is loaded again (also at once when a token names an unknown key id)." },
  { key: "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms", type: "long", default: "100", doc: "OAUTHBEARER: first wait before retrying a failed JWKS load at start-up (doubling each time)." },
  { key: "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms", type: "long", default: "10000", doc: "OAUTHBEARER: longest retry wait, and the most time start-up spends retrying the JWKS load." },
  { key: "sasl.oauthbearer.expected.issuer", type: "string", default: null, doc: "OAUTHBEARER with JWKS: the required iss claim." },
  { key: "sasl.oauthbearer.expected.audience", type: "list", default: null, doc: "OAUTHBEARER with JWKS: one of these must be in the aud claim." },
  { key: "sasl.oauthbearer.sub.claim.name", type: "string", default: "sub", doc: "OAUTHBEARER with JWKS: claim holding the principal." },
  { key: "sasl.oauthbearer.clock.skew.seconds", type: "int", default: "30", doc: "OAUTHBEARER with JWKS: allowed clock skew for exp and iat." },
  { key: "sasl.mechanism.inter.broker.protocol", type: "string", default: "PLAIN", doc: "SASL mechanism brokers log in with on a SASL inter-broker listener (Kafka's default GSSAPI is not served)." },
  { key: "sasl.enabled.mechanisms", type: "list", default: "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512", doc: "SASL mechanisms offered on SASL listeners (Kafka's default is GSSAPI, which Runnel does not serve)." },
];

const DEFS = new Map(BROKER_CONFIG_DEFS.map((d) => [d.key, d]));

/** The definition of broker config `key` (a map lookup), or undefined when Runnel does not define that key. */
export function brokerConfigDef(key: string): BrokerConfigDef | undefined {
  return DEFS.get(key);
}

/** Parses Java-properties text (key=value or key: value, # and ! comments, backslash continuations). */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trimStart();
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    while (line.endsWith("\\") && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i].trimStart();
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m) out.set(m[1], m[2].trim());
    else out.set(line.trim(), "");
  }
  return out;
}

/** The environment variable that sets `key` (`log.dirs` -> `RUNNEL_LOG_DIRS`; Runnel's own `runnel.shards` -> `RUNNEL_SHARDS`). */
export function envNameOf(key: string): string {
  return "RUNNEL_" + key.replace(/^runnel\./, "").toUpperCase().replace(/[.-]/g, "_");
}

/** A resolved broker configuration: raw strings plus typed accessors. */
export class BrokerConfig {
  /** Every explicitly set value, including keys Runnel does not know (kept for DescribeConfigs). */
  readonly values: Map<string, string>;

  constructor(values: Map<string, string>) {
    this.values = values;
    for (const [k, v] of values) {
      const def = DEFS.get(k);
      if (def) validate(def, v);
    }
    for (const key of ["listeners", "advertised.listeners"]) {
      for (const l of this.list(key)) {
        try {
          parseListener(l);
        } catch (e) {
          throw new Error(`config ${key}=${this.raw(key)}: ${(e as Error).message}`);
        }
      }
    }
    parsePerIpOverrides(this.str("max.connections.per.ip.overrides"));
    for (const [key, v] of [["max.connection.creation.rate", this.raw("max.connection.creation.rate")] as const, ...[...this.values].filter(([k]) => k.startsWith("listener.name.") && k.endsWith(".max.connection.creation.rate"))]) {
      if (v === null || !/^\d+$/.test(v.trim()) || Number(v) > 2147483647) throw new Error(`config ${key}=${v}: must be a whole number from 0 to 2147483647`);
    }
    // a listener's own max.connections (KIP-402): a whole number, at least 1 as the broker-wide one
    for (const [key, v] of [...this.values].filter(([k]) => /^listener\.name\.[^.]*\.max\.connections$/.test(k))) {
      if (!/^\d+$/.test(v.trim()) || Number(v) < 1 || Number(v) > 2147483647) throw new Error(`config ${key}=${v}: must be a whole number from 1 to 2147483647`);
    }
    const queuedBytes = this.num("queued.max.request.bytes");
    if (queuedBytes > 0 && queuedBytes < this.num("socket.request.max.bytes")) {
      throw new Error(`config queued.max.request.bytes=${queuedBytes} must be -1 or at least socket.request.max.bytes=${this.num("socket.request.max.bytes")}`);
    }
    for (const key of ["queued.max.requests", "queued.max.requests.per.connection", "max.connections", "socket.request.max.bytes"]) {
      if (this.num(key) < 1) throw new Error(`config ${key}=${this.raw(key)}: must be at least 1`);
    }
    const backlog = this.num("socket.listen.backlog.size");
    if (!(backlog >= 1 && backlog <= LISTEN_BACKLOG_MAX)) throw new Error(`config socket.listen.backlog.size=${this.raw("socket.listen.backlog.size")}: must be 1 to ${LISTEN_BACKLOG_MAX}`);
    const shards = this.num("runnel.shards");
    if (shards < 1 || shards > RUNNEL_SHARDS_MAX) throw new Error(`config runnel.shards=${this.raw("runnel.shards")}: must be 1 to ${RUNNEL_SHARDS_MAX}`);
  }

  /** Keys set explicitly that Runnel does not know (warned about at start-up, as Kafka does). */
  unknownKeys(): string[] {
    return [...this.values.keys()].filter((k) => !DEFS.has(k) && !k.startsWith("listener.name."));
  }

  /** Builds a configuration from a properties file, the environment and overrides (later wins). */
  static load(opts: { file?: string; env?: Record<string, string | undefined>; overrides?: Map<string, string> }): BrokerConfig {
    const values = new Map<string, string>();
    if (opts.file) for (const [k, v] of parseProperties(nodeFs.readFileSync(opts.file, "utf8"))) values.set(k, v);
    if (opts.env) {
      for (const def of BROKER_CONFIG_DEFS) {
        const v = opts.env[envNameOf(def.key)];
        if (v !== undefined) values.set(def.key, v);
      }
    }
    if (opts.overrides) for (const [k, v] of opts.overrides) values.set(k, v);
    return new BrokerConfig(values);
  }

  /** The raw value or default of `key`, or null. */
  raw(key: string): string | null {
    const v = this.values.get(key);
    if (v !== undefined) return v;
    return DEFS.get(key)?.default ?? null;
  }
  /** Whether `key` was set explicitly. */
  isSet(key: string): boolean {
    return this.values.has(key);
  }
  /** An int/long setting as a number. */
  num(key: string): number {
    const v = this.raw(key);
    if (v === null) throw new Error(`config ${key} has no value`);
    return Number(v);
  }
  /** A boolean setting. */
  bool(key: string): boolean {
    return this.raw(key) === "true";
  }
  /** A string setting. */
  str(key: string): string {
    const v = this.raw(key);
    if (v === null) throw new Error(`config ${key} has no value`);
    return v;
  }
  /** A list setting split on commas. */
  list(key: string): string[] {
    const v = this.raw(key);
    if (v === null || v.trim() === "") return [];
    return v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  }

  /** The broker's node id. */
  get nodeId(): number {
    return this.num("node.id");
  }
  /** Data directories. */
  get logDirs(): string[] {
    const dirs = this.list("log.dirs");
    return dirs.length > 0 ? dirs : [this.str("log.dir")];
  }
  /** Retention by time in ms, from the most specific of the three keys (-1 = forever). */
  get logRetentionMs(): number {
    if (this.isSet("log.retention.ms")) return this.num("log.retention.ms");
    if (this.isSet("log.retention.minutes")) return this.num("log.retention.minutes") * 60_000;
    return this.num("log.retention.hours") * 3_600_000;
  }
  /** Segment roll age in ms. */
  get logRollMs(): number {
    if (this.isSet("log.roll.ms")) return this.num("log.roll.ms");
    return this.num("log.roll.hours") * 3_600_000;
  }
  /** Time-based flush interval in ms (Long.MAX when unset). */
  get logFlushIntervalMs(): number {
    if (this.isSet("log.flush.interval.ms")) return this.num("log.flush.interval.ms");
    return Number(LONG_MAX);
  }
  /** Parsed `listeners`. */
  get listeners(): ListenerSpec[] {
    return this.list("listeners").map(parseListener);
  }
  /** Parsed `advertised.listeners`, defaulting to `listeners`. */
  get advertisedListeners(): ListenerSpec[] {
    const adv = this.list("advertised.listeners");
    return adv.length > 0 ? adv.map(parseListener) : this.listeners;
  }
}

/** A parsed listener such as `PLAINTEXT://127.0.0.1:9092`. */
export interface ListenerSpec {
  /** Listener name (PLAINTEXT). */
  name: string;
  /** Host to bind or advertise ("" = all interfaces when binding). */
  host: string;
  /** Port (0 = OS-chosen). */
  port: number;
}

/** Parses `NAME://host:port`. */
export function parseListener(s: string): ListenerSpec {
  const m = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`invalid listener '${s}' (expected NAME://host:port)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in listener '${s}'`);
  return { name: m[1].toUpperCase(), host: m[2].replace(/^\[|\]$/g, ""), port };
}

function validate(def: BrokerConfigDef, v: string): void {
  switch (def.type) {
    case "int":
    case "long":
      if (!/^-?\d+$/.test(v.trim())) throw new Error(`config ${def.key}=${v}: expected an integer`);
      if (def.type === "int" && (Number(v) > 2 ** 31 - 1 || Number(v) < -(2 ** 31))) throw new Error(`config ${def.key}=${v}: out of int range`);
      if (def.type === "long" && (BigInt(v.trim()) > 2n ** 63n - 1n || BigInt(v.trim()) < -(2n ** 63n))) throw new Error(`config ${def.key}=${v}: out of long range`);
      break;
    case "boolean":
      if (v !== "true" && v !== "false") throw new Error(`config ${def.key}=${v}: expected true or false`);
      break;
  }
}
