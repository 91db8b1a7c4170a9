/**
 * Produce (key 0), versions 3-13 (advertised from 0: librdkafka needs Produce v0 in ApiVersions, KAFKA-18659,
 * but versions below 3 are refused as Kafka 4 does). v3 transactional id; v5 log start offset; v8 record errors;
 * v9 flexible; v10 current leader and node endpoints (tagged); v12 no change on the wire; v13 topic ids.
 *
 * acks=0 sends no response (and closes the connection when a partition fails, as Kafka does); acks=1 answers after the write (page cache); acks=-1 answers after the data is
 * fdatasynced (group commit shared with concurrent requests), the single-node form of "all in-sync replicas".
 *
 * Transactions: clients cannot write control batches; a transactional batch must come from the producer's ongoing
 * transaction at its current epoch, with this partition added to it (INVALID_TXN_STATE otherwise, as Kafka 4's
 * verification answers), and opens the producer's transaction in the partition's producer state (holding the LSO).
 */
import type {
  ProduceRequest,
  ProduceResponse,
  ProduceResponsePartitionProduceResponse,
  ProduceResponseTopicProduceResponse,
} from "../../protocol/generated/00_produce.ts";
import { ErrorCode, KafkaError, errorCodeOf } from "../../protocol/errors.ts";
import { setLogAppendTime } from "../../protocol/record-batch.ts";
import { CloseConnection, NO_RESPONSE, type ApiHandler, type HandlerResult } from "../api-handler.ts";
import type { Broker, PartitionState, Topic } from "../broker.ts";
import { produceRecordsProblem, validateProduceRecords, wholeProduceRequestProblem, wholeRequestError, type BatchProducerInfo, type ProduceValidation } from "../produce-validation.ts";
import { appendInArrivalOrder } from "../partition-append-order.ts";
import { addPartitionsImplicitly, noteJoining } from "../implicit-txn-partitions.ts";
import { verifyAtRemoteCoordinator } from "../remote-txn-verification.ts";
import { txnVerdict } from "../txn-verdicts.ts";

/** Requests whose transactional partitions were already offered to the transaction (see addPartitionsImplicitly). */
const implicitlyAdded = new WeakSet<object>();
/** Per client connection: the last Produce request still joining its partitions to a transaction (settles, never rejects). */
const joiningOn = new WeakMap<object, Promise<void>>();
const noop = (): void => {};
import { uuidHex } from "../../protocol/uuid.ts";
import { countProduced } from "../../http/metrics/topic-traffic.ts";
import { ATTR_CONTROL, ATTR_TRANSACTIONAL, ATTRIBUTES_OFFSET, BATCH_LENGTH_OFFSET, CURRENT_MAGIC, LOG_OVERHEAD, MAGIC_OFFSET, PRODUCER_EPOCH_OFFSET, PRODUCER_ID_OFFSET, dataViewOf } from "../../protocol/batch-layout.ts";

/** Builds the Produce handler. */
export function produceHandler(b: Broker): ApiHandler<ProduceRequest, ProduceResponse> {
  return {
    apiKey: 0,
    minVersion: 3,
    maxVersion: 13,
    advertisedMinVersion: 0,
    handle(ctx, req) {
      // Kafka's checks of the whole request, before any partition joins a transaction or is written; a sharded
      // node's front made them over the client's request, of which this may be one shard's part
      const checkedAtFront = (ctx.connection as { produceCheckedAtFront?: boolean } | undefined)?.produceCheckedAtFront === true;
      const refused = checkedAtFront ? null : wholeProduceRequestProblem(ctx.apiVersion, req, (td, index) => (ctx.apiVersion >= 13 ? b.topicsById.get(uuidHex(td.topicId!)) : b.topicsByName.get(td.name!))?.partitions[index] !== undefined);
      if (refused !== null) return respond(b, req.timeoutMs, req.acks, wholeRequestError(req, refused.code, refused.message), []);
      // Produce v12+: partitions join the producer's transaction first; in a cluster a transaction coordinated by
      // another broker is verified there (KIP-890). Then this request runs again, once.
      // A connection's requests are read ahead of their answers, so a later Produce must not overtake an earlier one
      // still waiting here: it waits for that one, then looks again (Kafka reads the next request only after answering).
      if (!implicitlyAdded.has(req)) {
        implicitlyAdded.add(req);
        noteJoining(b, ctx.apiVersion, req);
        const joinFirst = () => addPartitionsImplicitly(b, ctx.apiVersion, req) ?? verifyAtRemoteCoordinator(b, ctx.apiVersion, req);
        const earlier = ctx.connection === undefined ? undefined : joiningOn.get(ctx.connection);
        const adding = earlier === undefined ? joinFirst() : earlier.then(joinFirst);
        if (adding !== null) {
          const resumed = adding.then(() => this.handle(ctx, req));
          if (ctx.connection !== undefined) {
            const connection = ctx.connection;
            const settled: Promise<void> = adding.then(noop, noop);
            joiningOn.set(connection, settled);
            void settled.then(() => {
              if (joiningOn.get(connection) === settled) joiningOn.delete(connection);
            });
          }
          return resumed;
        }
      }
      const acks = req.acks;
      const validAcks = acks === 0 || acks === 1 || acks === -1;
      const responses: ProduceResponseTopicProduceResponse[] = [];
      const commits: PendingCommit[] = [];
      const waiting: Promise<void>[] = []; // partitions whose codec work runs off the loop
      for (const td of req.topicData) {
        const topic: Topic | undefined =
          ctx.apiVersion >= 13 ? b.topicsById.get(uuidHex(td.topicId!)) : b.topicsByName.get(td.name!);
        const partitionResponses: ProduceResponsePartitionProduceResponse[] = [];
        for (const pd of td.partitionData) {
          const p = topic?.partitions[pd.index];
          if (topic === undefined || p === undefined) {
            const code = ctx.apiVersion >= 13 && topic === undefined ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
            partitionResponses.push(errorPartition(pd.index, code, null));
            continue;
          }
          // Kafka checks the request's shape (one v2 batch, no zstd before v7) before the log validates the batch
          const shape = produceRecordsProblem(ctx.apiVersion, pd.records as Uint8Array | null);
          if (shape !== null) {
            partitionResponses.push(errorPartition(pd.index, shape.code, shape.message));
            continue;
          }
          // Kafka verifies a transactional batch's partition with the coordinator before acks and the log's checks
          const unverified = unverifiedTransactionalBatch(b, p, pd.records as Uint8Array, ctx.apiVersion, txnVerdict(req, p.topic.name, p.index));
          if (unverified !== null) {
            partitionResponses.push(unverified);
            continue;
          }
          // Kafka's ReplicaManager looks at acks after the request's own checks: only what passed them is refused here
          if (!validAcks) {
            partitionResponses.push(errorPartition(pd.index, ErrorCode.INVALID_REQUIRED_ACKS, `invalid required acks ${acks}`));
            continue;
          }
          const r = appendPartition(b, p, pd.records as Uint8Array | null, acks, commits, ctx.apiVersion, txnVerdict(req, p.topic.name, p.index));
          if (r instanceof Promise) {
            const slot = partitionResponses.length;
            partitionResponses.push(errorPartition(pd.index, ErrorCode.UNKNOWN_SERVER_ERROR, null)); // replaced below
            waiting.push(r.then((done) => void (partitionResponses[slot] = done)));
          } else partitionResponses.push(r);
        }
        responses.push({ name: td.name ?? topic?.name ?? "", topicId: td.topicId, partitionResponses });
      }
      if (waiting.length > 0) return Promise.all(waiting).then(() => respond(b, req.timeoutMs, acks, responses, commits));
      return respond(b, req.timeoutMs, acks, responses, commits);
    },
  };
}

/** The answer once every partition is appended: none for acks=0, after the commits for acks=-1. */
function respond(b: Broker, timeoutMs: number, acks: number, responses: ProduceResponseTopicProduceResponse[], commits: PendingCommit[]): HandlerResult<ProduceResponse> {
  if (acks === 0) {
    // No response can carry an error: close the connection, as Kafka does, so the client notices and refreshes.
    const failed = responses.find((t) => t.partitionResponses.some((pr) => pr.errorCode !== ErrorCode.NONE));
    if (failed === undefined) return NO_RESPONSE;
    const code = failed.partitionResponses.find((pr) => pr.errorCode !== ErrorCode.NONE)!.errorCode;
    return new CloseConnection(`an acks=0 produce to ${failed.name || "a topic id"} failed with error code ${code}`);
  }
  const response: ProduceResponse = { responses, throttleTimeMs: 0 };
  if (commits.length === 0) return response;
  const m = b.metrics; // produce purgatory: acks=all requests waiting for the high watermark and the fsync
  if (m !== null) m.waitingProduces++;
  const handled = commits.map((c) =>
    c.done.then(
      () => void (c.settled = true),
      (e) => {
        c.settled = true;
        if (c.timedOut) return; // answered REQUEST_TIMED_OUT already
        // A partition deleted or no longer led answers its Kafka code; an fdatasync failure KAFKA_STORAGE_ERROR.
        if (!(e instanceof KafkaError)) b.logger.error(`fdatasync failed: ${(e as Error).message}`);
        c.response.errorCode = e instanceof KafkaError ? e.code : ErrorCode.KAFKA_STORAGE_ERROR;
      },
    ),
  );
  // Kafka's DelayedProduce: past the request's timeout_ms, a partition whose high watermark has not reached the
  // batch answers REQUEST_TIMED_OUT (retriable; the records stay in the log and may still commit), so a leader
  // cut off from its followers answers instead of holding the request. One that is replicated and only waits for
  // its fdatasync (Runnel's acks=all promise) is waited for.
  let timer: unknown = null;
  const expiry = new Promise<void>((resolve) => (timer = b.clock.setTimer(resolve, Math.max(0, timeoutMs))));
  return Promise.race([Promise.all(handled), expiry]).then(async () => {
    b.clock.clearTimer(timer);
    const syncing: Promise<void>[] = [];
    for (const [i, c] of commits.entries()) {
      if (c.settled) continue;
      if (c.partition.highWatermark >= c.offset) syncing.push(handled[i]);
      else {
        c.timedOut = true;
        c.response.errorCode = ErrorCode.REQUEST_TIMED_OUT;
      }
    }
    await Promise.all(syncing);
    if (m !== null) m.waitingProduces--;
    return response;
  });
}

/** An acks=all partition response waiting for its commit (high watermark passed, data fdatasynced). */
interface PendingCommit {
  response: ProduceResponsePartitionProduceResponse;
  done: Promise<void>;
  /** The partition and the offset its high watermark must reach. */
  partition: PartitionState;
  offset: bigint;
  /** `done` has settled. */
  settled: boolean;
  /** Answered REQUEST_TIMED_OUT (timeout_ms passed first). */
  timedOut: boolean;
}

function pendingCommit(p: PartitionState, response: ProduceResponsePartitionProduceResponse, offset: bigint, minInsyncReplicas: number): PendingCommit {
  return { response, done: p.whenCommitted(offset, minInsyncReplicas), partition: p, offset, settled: false, timedOut: false };
}

/** Errors of a failed append that Kafka answers without the log start offset (ReplicaManager's "known" exceptions). */
const WITHOUT_LOG_START = new Set<number>([
  ErrorCode.CORRUPT_MESSAGE,
  ErrorCode.MESSAGE_TOO_LARGE,
  ErrorCode.RECORD_LIST_TOO_LARGE,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.KAFKA_STORAGE_ERROR,
]);

/** The answer of a partition whose records the log refused: with its log start offset, as Kafka reports it for most errors. */
function failedAppend(p: PartitionState, code: number, message: string | null): ProduceResponsePartitionProduceResponse {
  const r = errorPartition(p.index, code, message);
  if (!WITHOUT_LOG_START.has(code)) r.logStartOffset = p.log.logStartOffset;
  return r;
}

function errorPartition(index: number, code: number, message: string | null): ProduceResponsePartitionProduceResponse {
  return { index, errorCode: code, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage: message };
}

/**
 * Validates and appends one partition's records; for acks=-1, adds the wait for its commit to `commits`. A promise
 * when the validation's codec work runs off the loop, or an earlier append of the partition still waits for its.
 */
function appendPartition(
  b: Broker,
  p: PartitionState,
  records: Uint8Array | null,
  acks: number,
  commits: PendingCommit[],
  apiVersion: number,
  verdict: number | undefined,
): ProduceResponsePartitionProduceResponse | Promise<ProduceResponsePartitionProduceResponse> {
  const validation = validateProduceRecords(records, p.topic.config, b.clock.nowMs(), b.codecPool);
  return appendInArrivalOrder(p, validation, (v) => appendValidated(b, p, v, acks, commits, apiVersion, verdict));
}

/** Appends records that passed {@link validateProduceRecords} (or answers why they did not). */
function appendValidated(
  b: Broker,
  p: PartitionState,
  v: ProduceValidation,
  acks: number,
  commits: PendingCommit[],
  apiVersion: number,
  verdict: number | undefined,
): ProduceResponsePartitionProduceResponse {
  const config = p.topic.config;
  const now = b.clock.nowMs();
  // Leadership first, as Kafka's Partition.appendRecordsToLeader: a broker that does not lead the partition (now: the
  // validation may have waited, and leadership may have moved meanwhile) answers NOT_LEADER_OR_FOLLOWER whatever the
  // batch, never a sequence verdict from its follower's producer state. An old leader that answered
  // OUT_OF_ORDER_SEQUENCE_NUMBER to a pipelined batch after refusing the one before it with NOT_LEADER_OR_FOLLOWER
  // made librdkafka bump its epoch and send again, under new sequences, batches the old leader had written and
  // replicated: duplicates in the log (tests/cluster/idempotent-produce-at-a-follower-answers-not-leader).
  // Before that, as Kafka's ReplicaManager (an offline partition answers KAFKA_STORAGE_ERROR before the partition is
  // asked anything): a log that cannot take the append (offline after an I/O error, closed while the broker stops)
  // answers KAFKA_STORAGE_ERROR, never OUT_OF_ORDER_SEQUENCE_NUMBER for the batches pipelined behind the one that
  // failed (tests/broker/idempotent-produce-to-an-offline-log-answers-storage-error).
  try {
    p.checkAppendable();
    p.checkLeader();
  } catch (e) {
    const code = errorCodeOf(e);
    return errorPartition(p.index, code === ErrorCode.UNKNOWN_SERVER_ERROR ? ErrorCode.KAFKA_STORAGE_ERROR : code, (e as Error).message);
  }
  if (!v.ok) {
    const r = failedAppend(p, v.code, v.message);
    r.recordErrors = v.recordErrors;
    return r;
  }
  if (acks === -1 && p.isr.length < p.effectiveMinIsr(config.minInsyncReplicas)) {
    return errorPartition(p.index, ErrorCode.NOT_ENOUGH_REPLICAS, `min.insync.replicas=${config.minInsyncReplicas} but only ${p.isr.length} of ${p.replicas.length} replica(s) in sync`);
  }
  const txnProblem = transactionProblem(b, p, v.records, v.batches, apiVersion, verdict);
  if (txnProblem !== null) return txnProblem;
  // Idempotence: a retried batch is answered with the offset it got the first time.
  const first = v.batches[0];
  if (first.producerId >= 0n) {
    if (v.batches.length > 1) {
      return errorPartition(p.index, ErrorCode.INVALID_RECORD, "an idempotent produce request must carry one batch per partition");
    }
    const check = p.producers.check(first.producerId, first.producerEpoch, first.baseSequence, first.count);
    if (check.kind === "error") return failedAppend(p, check.code, check.message);
    if (check.kind === "duplicate") {
      // as Kafka: the first copy's offset, and its max timestamp as the append time (whatever the timestamp type)
      const response = { index: p.index, errorCode: 0, baseOffset: check.baseOffset, logAppendTimeMs: BigInt(check.timestamp), logStartOffset: p.log.logStartOffset, recordErrors: [], errorMessage: null };
      // acks=all: the first copy may not be committed yet (its request timed out at the client, or this broker is a
      // partitioned old leader); the retry waits for the high watermark like the first did, as in Kafka.
      if (acks === -1) commits.push(pendingCommit(p, response, check.baseOffset + BigInt(first.count), config.minInsyncReplicas));
      return response;
    }
  }
  let logAppendTimeMs = -1;
  if (config.messageTimestampType === "LogAppendTime") {
    logAppendTimeMs = now;
    const dv = dataViewOf(v.records);
    for (let at = 0; at < v.records.length; ) {
      const size = dv.getInt32(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
      setLogAppendTime(v.records, at, size, now);
      at += size;
    }
  }
  let result;
  try {
    result = p.appendAsLeader(v.records, logAppendTimeMs >= 0 ? logAppendTimeMs : undefined);
  } catch (e) {
    // An I/O failure without a Kafka code answers KAFKA_STORAGE_ERROR, never UNKNOWN_SERVER_ERROR.
    const code = errorCodeOf(e);
    if (!(e instanceof KafkaError)) b.logger.error(`append to ${p.topic.name}-${p.index} failed: ${(e as Error).stack ?? e}`);
    return errorPartition(p.index, code === ErrorCode.UNKNOWN_SERVER_ERROR ? ErrorCode.KAFKA_STORAGE_ERROR : code, (e as Error).message);
  }
  if (b.metrics !== null) {
    let n = 0;
    for (const bt of v.batches) n += bt.count;
    countProduced(b.metrics, p.topic.name, v.records.length, n);
  }
  const response: ProduceResponsePartitionProduceResponse = {
    index: p.index,
    errorCode: ErrorCode.NONE,
    baseOffset: result.baseOffset,
    logAppendTimeMs: BigInt(logAppendTimeMs),
    logStartOffset: p.log.logStartOffset,
    recordErrors: [],
    errorMessage: null,
  };
  if (acks === -1) commits.push(pendingCommit(p, response, result.lastOffset + 1n, config.minInsyncReplicas));
  return response;
}

/**
 * Transactions: refuses control batches from clients, and a transactional batch unless it comes from the
 * producer's ongoing transaction at its current epoch with this partition in it: checked by this broker's
 * coordinator, or `verdict` when a coordinator already answered for this request (another broker's asked, or this
 * one busy with the implicit add: txn-verdicts.ts). Null when the records may go on.
 */
function transactionProblem(b: Broker, p: PartitionState, records: Uint8Array, batches: readonly BatchProducerInfo[], apiVersion: number, verdict: number | undefined): ProduceResponsePartitionProduceResponse | null {
  let transactional = false;
  for (const bt of batches) {
    // The control bit lives in the low byte of the big-endian int16 attributes.
    if ((records[bt.at + ATTRIBUTES_OFFSET + 1] & ATTR_CONTROL) !== 0) return failedAppend(p, ErrorCode.INVALID_RECORD, "clients cannot produce control batches");
    if (bt.transactional) transactional = true;
  }
  if (!transactional) return null;
  const first = batches[0];
  if (!first.transactional || first.producerId < 0n) return errorPartition(p.index, ErrorCode.INVALID_RECORD, "a transactional batch needs a producer id and must come alone");
  const code = verdict ?? b.txns.verifyProduce(first.producerId, first.producerEpoch, p.topic.name, p.index);
  return code === ErrorCode.NONE ? null : txnRefusal(p, code, first.producerId, first.producerEpoch, apiVersion);
}

/**
 * The answer for a partition whose first batch is transactional (v2, with a producer id) but not verified by the
 * coordinator: Kafka verifies before it looks at acks or validates the batch. Null when verified or not transactional.
 */
function unverifiedTransactionalBatch(b: Broker, p: PartitionState, records: Uint8Array, apiVersion: number, verdict: number | undefined): ProduceResponsePartitionProduceResponse | null {
  // the transactional bit lies in the attributes' low byte: no view for the common, non-transactional batch
  if (records[MAGIC_OFFSET] !== CURRENT_MAGIC || (records[ATTRIBUTES_OFFSET + 1] & ATTR_TRANSACTIONAL) === 0) return null;
  const dv = dataViewOf(records);
  const producerId = dv.getBigInt64(PRODUCER_ID_OFFSET);
  if (producerId < 0n) return null;
  const producerEpoch = dv.getInt16(PRODUCER_EPOCH_OFFSET);
  const code = verdict ?? b.txns.verifyProduce(producerId, producerEpoch, p.topic.name, p.index);
  return code === ErrorCode.NONE ? null : txnRefusal(p, code, producerId, producerEpoch, apiVersion);
}

/** The answer of a transactional write the coordinator did not verify (`code`). */
function txnRefusal(p: PartitionState, code: number, producerId: bigint, producerEpoch: number, apiVersion: number): ProduceResponsePartitionProduceResponse {
  const first = { producerId, producerEpoch };
  const why =
    code === ErrorCode.INVALID_TXN_STATE
      ? `partition ${p.topic.name}-${p.index} is not in an ongoing transaction of producer ${first.producerId}`
      : code === ErrorCode.INVALID_PRODUCER_EPOCH
        ? `producer ${first.producerId} epoch ${first.producerEpoch} is not current`
        : `the transaction coordinator could not verify this write now (error ${code})`;
  // Produce v11+ clients (KIP-890) handle TRANSACTION_ABORTABLE, which Kafka answers there instead of INVALID_TXN_STATE.
  return errorPartition(p.index, code === ErrorCode.INVALID_TXN_STATE && apiVersion >= 11 ? ErrorCode.TRANSACTION_ABORTABLE : code, why);
}
