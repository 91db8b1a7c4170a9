/**
 * Checks the record batches of one partition of a Produce request the way Kafka's broker does before anything is
 * written: whole v2 batches, CRC, record counts and offset deltas (decompressing a compressed batch only to count
 * its records), size limits, and, when the topic's `compression.type` names a codec other than what the client
 * used, recompresses the records section (the compression pipeline). Batches that need no change stay the very
 * bytes of the request.
 *
 * The checks are one generator that yields each codec call it needs. {@link validateProduceRecords} runs those
 * calls on the loop when they are small, and returns a promise once one large call goes off the loop (gzip and
 * zstd: node:zlib streams; lz4 and snappy: the broker's codec worker threads), so a big batch never holds the
 * event loop.
 */
import {
  ATTRIBUTES_OFFSET,
  ATTR_COMPRESSION_MASK,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_OFFSET,
  CRC_OFFSET,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  ATTR_TRANSACTIONAL,
  ATTR_CONTROL,
  computeBatchCrc,
  dataViewOf,
} from "../protocol/batch-layout.ts";
import { batchProblemErrorCode, RecordCursor, verifyBatch, verifyRecords } from "../protocol/record-batch.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { concatBytes } from "../protocol/wire.ts";
import { codecById, codecIdByName, MAX_DECOMPRESSED_BYTES, OFF_LOOP_CODEC_MIN_BYTES, type CompressionCodec } from "../compression/index.ts";
import { CodecThreadError } from "../compression/codec-pool.ts";
import type { LogConfig } from "../storage/log-config.ts";
import type { ProduceResponseTopicProduceResponse } from "../protocol/generated/00_produce.ts";

/** Most batches accepted in one partition's records of one request. */
export const MAX_BATCHES_PER_PARTITION_REQUEST = 100_000;

/** Codec ids a batch may carry (none, gzip, snappy, lz4, zstd). */
const KNOWN_CODEC_IDS = [1, 2, 3, 4];
/** Smallest size field a batch may carry before Kafka calls the bytes corrupt (LegacyRecord.RECORD_OVERHEAD_V0). */
const MIN_SIZE_FIELD = 14;
/** Bytes up to and including the magic byte. */
const HEADER_SIZE_UP_TO_MAGIC = MAGIC_OFFSET + 1;
/** Produce versions below this may not carry zstd batches (KIP-110). */
const ZSTD_MIN_PRODUCE_VERSION = 7;
/** zstd's codec id in the batch attributes. */
const ZSTD_CODEC_ID = 4;

/**
 * Kafka's check of one partition's records at the request level (ProduceRequest.validateRecords, run before the
 * log's own validation and before the acks are looked at): exactly one whole batch, of magic 2, and no zstd below
 * Produce v7. A batch header whose size field or magic is impossible is CORRUPT_MESSAGE, as Kafka's batch
 * iterator throws; a batch cut short counts as no batch (INVALID_RECORD). Null when the records may go on.
 */
export function produceRecordsProblem(apiVersion: number, records: Uint8Array | null): { code: number; message: string } | null {
  if (records === null) return { code: ErrorCode.INVALID_RECORD, message: `Produce requests with version ${apiVersion} must have at least one record batch per partition` };
  const dv = dataViewOf(records);
  const first = wholeBatchSizeAt(records, dv, 0);
  if (typeof first === "string") return { code: ErrorCode.CORRUPT_MESSAGE, message: first };
  if (first === null) return { code: ErrorCode.INVALID_RECORD, message: `Produce requests with version ${apiVersion} must have at least one record batch per partition` };
  if (records[MAGIC_OFFSET] !== CURRENT_MAGIC) return { code: ErrorCode.INVALID_RECORD, message: `Produce requests with version ${apiVersion} are only allowed to contain record batches with magic version 2` };
  if (apiVersion < ZSTD_MIN_PRODUCE_VERSION && (dv.getInt16(ATTRIBUTES_OFFSET) & ATTR_COMPRESSION_MASK) === ZSTD_CODEC_ID) {
    return { code: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, message: `Produce requests with version ${apiVersion} are not allowed to use ZStandard compression` };
  }
  const second = wholeBatchSizeAt(records, dv, first);
  if (typeof second === "string") return { code: ErrorCode.CORRUPT_MESSAGE, message: second };
  if (second !== null) return { code: ErrorCode.INVALID_RECORD, message: `Produce requests with version ${apiVersion} are only allowed to contain exactly one record batch per partition` };
  return null;
}

/**
 * The first batch's codec id, when a request below Produce v7 may not even name it: Kafka's check for zstd asks the
 * batch for its compression type, which throws on an id it does not know (5-7), and the whole request fails with
 * UNKNOWN_SERVER_ERROR. Null otherwise. Call after {@link produceRecordsProblem} found nothing.
 */
function unknownCodecBeforeV7(apiVersion: number, records: Uint8Array): number | null {
  if (apiVersion >= ZSTD_MIN_PRODUCE_VERSION) return null;
  const codecId = dataViewOf(records).getInt16(ATTRIBUTES_OFFSET) & ATTR_COMPRESSION_MASK;
  return codecId === 0 || KNOWN_CODEC_IDS.includes(codecId) ? null : codecId;
}

/**
 * Kafka's first look at a Produce request (RequestUtils.hasTransactionalRecords): the first batch of each
 * partition's records, in request order, until one is transactional. A header seen on the way whose size field or
 * magic is impossible fails the whole request with CORRUPT_MESSAGE (`corrupt`: why); else `transactional` says
 * whether a transactional first batch was found.
 */
function firstBatchesLook(partitionRecords: Iterable<Uint8Array | null>): { corrupt: string } | { transactional: boolean } {
  for (const records of partitionRecords) {
    if (records === null) continue;
    const dv = dataViewOf(records);
    const size = wholeBatchSizeAt(records, dv, 0);
    if (typeof size === "string") return { corrupt: size };
    // a legacy (magic 0 or 1) batch has no transactional bit
    if (size !== null && records[MAGIC_OFFSET] === CURRENT_MAGIC && (dv.getInt16(ATTRIBUTES_OFFSET) & ATTR_TRANSACTIONAL) !== 0) return { transactional: true };
  }
  return { transactional: false };
}

/**
 * The size of the whole batch at `at` (log overhead included), null when the bytes left do not hold one, or why
 * its header is corrupt: Kafka's ByteBufferLogInputStream.nextBatch.
 */
function wholeBatchSizeAt(records: Uint8Array, dv: DataView, at: number): number | null | string {
  const remaining = records.length - at;
  if (remaining < LOG_OVERHEAD) return null;
  const sizeField = dv.getInt32(at + BATCH_LENGTH_OFFSET);
  if (sizeField < MIN_SIZE_FIELD) return `Record size ${sizeField} is less than the minimum record overhead (${MIN_SIZE_FIELD})`;
  if (remaining < HEADER_SIZE_UP_TO_MAGIC) return null;
  const magic = dv.getInt8(at + MAGIC_OFFSET);
  if (magic < 0 || magic > CURRENT_MAGIC) return `Invalid magic found in record: ${magic}`;
  const size = sizeField + LOG_OVERHEAD;
  return remaining < size ? null : size;
}

/** The topics and partitions of a Produce request, as {@link wholeProduceRequestProblem} reads them. */
export interface ProduceRequestTopics {
  /** Whether the request carries a transactional id. */
  transactionalId: string | null;
  /** Topics by name or id, each with its partitions' records. */
  topicData: readonly { name?: string; topicId?: Uint8Array; partitionData: readonly { index: number; records: unknown }[] }[];
}

/**
 * What fails a whole Produce request in Kafka (KafkaApis.handleProduceRequest), in its order: a first batch whose
 * header is corrupt (CORRUPT_MESSAGE), transactional batches without a transactional id
 * (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), below v7 a codec id the broker does not know in an existing partition's
 * batch (UNKNOWN_SERVER_ERROR: Kafka's zstd check throws on it). Null when the partitions are answered one by one.
 * `exists` tells whether a topic entry's partition exists. A sharded node's front asks this of a request it splits.
 */
export function wholeProduceRequestProblem<T extends ProduceRequestTopics["topicData"][number]>(
  apiVersion: number,
  req: { transactionalId: string | null; topicData: readonly T[] },
  exists: (topic: T, index: number) => boolean,
): { code: number; message: string } | null {
  const look = firstBatchesLook(allPartitionRecords(req.topicData));
  if ("corrupt" in look) return { code: ErrorCode.CORRUPT_MESSAGE, message: look.corrupt };
  if (look.transactional && req.transactionalId === null) {
    return { code: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, message: "transactional records need a transactional id" };
  }
  if (apiVersion >= ZSTD_MIN_PRODUCE_VERSION) return null; // the codec id is checked per partition from v7
  for (const td of req.topicData) {
    for (const pd of td.partitionData) {
      const records = pd.records as Uint8Array | null;
      if (records === null || !exists(td, pd.index) || produceRecordsProblem(apiVersion, records) !== null) continue;
      const codecId = unknownCodecBeforeV7(apiVersion, records);
      if (codecId !== null) return { code: ErrorCode.UNKNOWN_SERVER_ERROR, message: `Unknown compression type id: ${codecId}` };
    }
  }
  return null;
}

/** The answer of a Produce request refused as a whole: every partition gets `code` (Kafka's ProduceRequest.getErrorResponse). */
export function wholeRequestError(req: ProduceRequestTopics, code: number, message: string): ProduceResponseTopicProduceResponse[] {
  return req.topicData.map((td) => ({
    name: td.name ?? "",
    topicId: td.topicId,
    partitionResponses: td.partitionData.map((pd) => ({ index: pd.index, errorCode: code, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage: message })),
  }));
}

/** Every partition's records of a Produce request, in request order. */
function* allPartitionRecords(topics: ProduceRequestTopics["topicData"]): Generator<Uint8Array | null> {
  for (const td of topics) for (const pd of td.partitionData) yield pd.records as Uint8Array | null;
}

/** Producer fields of one batch, for idempotence checks. */
export interface BatchProducerInfo {
  /** Byte position of the batch in the (possibly rebuilt) records. */
  at: number;
  /** Producer id (-1 = not idempotent). */
  producerId: bigint;
  /** Producer epoch. */
  producerEpoch: number;
  /** First sequence. */
  baseSequence: number;
  /** Records in the batch. */
  count: number;
  /** Whether the batch is transactional. */
  transactional: boolean;
}

/** Result of {@link validateProduceRecords}. */
export type ProduceValidation =
  | { ok: true; records: Uint8Array; batches: BatchProducerInfo[]; maxTimestamp: number }
  | { ok: false; code: number; message: string; recordErrors: RecordError[] };

/** One invalid record (KIP-467): its index within its batch and why; clients fail only these records. */
export interface RecordError {
  /** Index of the record within its batch. */
  batchIndex: number;
  /** Why it was refused. */
  batchIndexErrorMessage: string | null;
}

/** Most record errors listed in one answer (Kafka lists them all; this bounds the response for a huge batch). */
export const MAX_RECORD_ERRORS = 10_000;

/** One codec call the checks need: the driver runs it and resumes the checks with its output (or its error). */
interface CodecCall {
  codec: CompressionCodec;
  /** Decompress (`arg` = most output bytes) or compress (`arg` = level). */
  decompress: boolean;
  data: Uint8Array;
  arg: number | undefined;
}

/** The checks, suspended at each codec call. */
type ValidationSteps = Generator<CodecCall, ProduceValidation, Uint8Array>;

/** Codec work off the event loop for codecs without an asynchronous path of their own (the broker's CodecPool). */
export interface CodecThreads {
  /** Runs one codec call on another thread, or answers null when it cannot take it now (the caller runs it). */
  run(codecId: number, decompress: boolean, data: Uint8Array, arg: number | undefined): Promise<Uint8Array> | null;
}

/**
 * Validates (and, if the topic asks, recompresses) the records for one partition. Synchronous unless a codec call
 * of at least OFF_LOOP_CODEC_MIN_BYTES goes off the loop (gzip and zstd through node:zlib streams, lz4 and snappy
 * through `threads`); then the answer is a promise.
 */
export function validateProduceRecords(records: Uint8Array | null, config: LogConfig, nowMs: number, threads: CodecThreads | null = null): ProduceValidation | Promise<ProduceValidation> {
  const steps = validationSteps(records, config, nowMs);
  let step = steps.next();
  while (!step.done) {
    const call = step.value;
    let out: Uint8Array;
    try {
      const pending = offLoop(call, threads);
      if (pending !== null) return finishOffLoop(steps, call, pending, threads);
      out = onLoop(call);
    } catch (e) {
      step = steps.throw(e);
      continue;
    }
    step = steps.next(out);
  }
  return step.value;
}

/** Runs `call` on this thread. */
function onLoop(call: CodecCall): Uint8Array {
  return call.decompress ? call.codec.decompress(call.data, call.arg!) : call.codec.compress(call.data, call.arg);
}

/**
 * Starts `call` off the loop if it is large enough (below OFF_LOOP_CODEC_MIN_BYTES the hop costs about what the
 * codec does; see bench/codec-pool-threshold.ts) and a way exists: the codec's own asynchronous path, else
 * `threads`. Null: run it on the loop.
 */
function offLoop(call: CodecCall, threads: CodecThreads | null): Promise<Uint8Array> | null {
  if (call.data.length < OFF_LOOP_CODEC_MIN_BYTES) return null;
  const c = call.codec;
  const own = call.decompress ? c.decompressAsync?.(call.data, call.arg!) : c.compressAsync?.(call.data, call.arg);
  return own ?? threads?.run(c.id, call.decompress, call.data, call.arg) ?? null;
}

/**
 * Runs the rest of the checks once `pending` (`call`, gone off the loop) is done, each later call off the loop
 * where it can go. A call the codec threads could not finish (closed, a worker died) runs on the loop instead.
 */
async function finishOffLoop(steps: ValidationSteps, call: CodecCall, pending: Promise<Uint8Array>, threads: CodecThreads | null): Promise<ProduceValidation> {
  let next: Promise<Uint8Array> | null = pending;
  for (;;) {
    let step: IteratorResult<CodecCall, ProduceValidation>;
    try {
      let out: Uint8Array;
      try {
        out = next !== null ? await next : onLoop(call);
      } catch (e) {
        if (!(e instanceof CodecThreadError)) throw e;
        out = onLoop(call);
      }
      step = steps.next(out);
    } catch (e) {
      step = steps.throw(e);
    }
    if (step.done) return step.value;
    call = step.value;
    try {
      next = offLoop(call, threads);
    } catch (e) {
      next = Promise.reject(e);
    }
  }
}

function* validationSteps(records: Uint8Array | null, config: LogConfig, nowMs: number): ValidationSteps {
  if (records === null || records.length === 0) {
    return { ok: false, code: ErrorCode.INVALID_RECORD, message: "Produce request carries no records", recordErrors: [] };
  }
  const dv = dataViewOf(records);
  const batches: BatchProducerInfo[] = [];
  let rebuilt: Uint8Array[] | null = null; // set once any batch is recompressed
  let maxTimestamp = -1;
  let at = 0;
  for (let i = 0; at < records.length; i++) {
    if (i >= MAX_BATCHES_PER_PARTITION_REQUEST) return fail(ErrorCode.INVALID_RECORD, "too many batches");
    if (records.length - at < LOG_OVERHEAD) return fail(ErrorCode.CORRUPT_MESSAGE, "truncated batch header");
    const size = dv.getInt32(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE || at + size > records.length) {
      return fail(ErrorCode.CORRUPT_MESSAGE, `batch length ${size - LOG_OVERHEAD} does not fit the records`);
    }
    if (size > config.maxMessageBytes) {
      return fail(ErrorCode.MESSAGE_TOO_LARGE, `batch of ${size} bytes exceeds max.message.bytes ${config.maxMessageBytes}`);
    }
    const problem = verifyBatch(records, at, size);
    if (problem !== null) return fail(batchProblemErrorCode(problem), `invalid batch: ${problem}`);
    const attributes = dv.getInt16(at + ATTRIBUTES_OFFSET);
    const codecId = attributes & ATTR_COMPRESSION_MASK;
    const count = dv.getInt32(at + RECORDS_COUNT_OFFSET);
    const ts = Number(dv.getBigInt64(at + MAX_TIMESTAMP_OFFSET));
    if (ts > maxTimestamp) maxTimestamp = ts;

    let section: Uint8Array | null = null;
    if (codecId !== 0) {
      const codec = KNOWN_CODEC_IDS.includes(codecId) ? codecById(codecId) : null;
      // Kafka's CompressionType.forId throws IllegalArgumentException on an unknown id: UNKNOWN_SERVER_ERROR
      if (codec === null) return fail(ErrorCode.UNKNOWN_SERVER_ERROR, `Unknown compression type id: ${codecId}`);
      try {
        section = yield { codec, decompress: true, data: records.subarray(at + BATCH_HEADER_SIZE, at + size), arg: maxDecompressedBytes(config) };
      } catch (e) {
        return fail(ErrorCode.CORRUPT_MESSAGE, `cannot decompress ${codec.name} batch: ${(e as Error).message}`);
      }
      const base = Number(dv.getBigInt64(at + BASE_TIMESTAMP_OFFSET));
      const rp = verifyRecords(section, 0, section.length, count, base);
      if (rp !== null) return fail(batchProblemErrorCode(rp), `invalid compressed records: ${rp}`);
    }

    const plainSection = section ?? records.subarray(at + BATCH_HEADER_SIZE, at + size);
    // the limits bound producers' CreateTime timestamps; with LogAppendTime the broker's clock replaces them (Kafka's LogValidator)
    const createTime = config.messageTimestampType === "CreateTime";
    if (createTime && (timestampProblem(ts, config, nowMs) !== null || timestampProblem(Number(dv.getBigInt64(at + BASE_TIMESTAMP_OFFSET)), config, nowMs) !== null)) {
      const errors = recordErrorsOf(plainSection, count, Number(dv.getBigInt64(at + BASE_TIMESTAMP_OFFSET)), (c) => timestampProblem(c.timestamp, config, nowMs));
      if (errors.length > 0) return { ok: false, code: ErrorCode.INVALID_TIMESTAMP, message: errors[0].batchIndexErrorMessage!, recordErrors: errors };
    }
    if ((attributes & ATTR_CONTROL) === 0 && config.cleanupPolicy.includes("compact")) {
      const errors = recordErrorsOf(plainSection, count, 0, (c) => (c.keyLength < 0 ? "Compacted topic cannot accept message without key in topic partition" : null));
      if (errors.length > 0) return { ok: false, code: ErrorCode.INVALID_RECORD, message: `One or more records have been rejected due to ${errors.length} record errors in total`, recordErrors: errors };
    }

    const targetCodec = config.compressionType === "producer" ? codecId : codecIdByName(config.compressionType);
    let batchBytes = records.subarray(at, at + size);
    if (targetCodec !== codecId) {
      const plain = section ?? records.subarray(at + BATCH_HEADER_SIZE, at + size);
      const body = targetCodec === 0 ? plain : yield { codec: codecById(targetCodec)!, decompress: false, data: plain, arg: levelFor(targetCodec, config) };
      batchBytes = rebuildBatch(batchBytes, body, targetCodec);
      if (rebuilt === null) rebuilt = splitBefore(records, at);
    }
    if (rebuilt !== null) rebuilt.push(batchBytes);
    const bdv = rebuilt === null ? dv : dataViewOf(batchBytes);
    const bat = rebuilt === null ? at : 0;
    batches.push({
      at: rebuilt === null ? at : -1,
      producerId: bdv.getBigInt64(bat + PRODUCER_ID_OFFSET),
      producerEpoch: bdv.getInt16(bat + PRODUCER_EPOCH_OFFSET),
      baseSequence: bdv.getInt32(bat + BASE_SEQUENCE_OFFSET),
      count,
      transactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
    });
    at += size;
  }
  let out = records;
  if (rebuilt !== null) {
    out = concatBytes(rebuilt);
    let pos = 0;
    for (const b of batches) {
      b.at = pos;
      const size = new DataView(out.buffer, out.byteOffset + pos).getInt32(BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
      // recompression can grow a batch: Kafka's UnifiedLog checks the converted batches again (RecordTooLargeException)
      if (size > config.maxMessageBytes) {
        return fail(ErrorCode.MESSAGE_TOO_LARGE, `Message batch size is ${size} bytes after recompression, which exceeds the maximum configured size of ${config.maxMessageBytes}.`);
      }
      pos += size;
    }
  }
  return { ok: true, records: out, batches, maxTimestamp };
}

/** Reused to look at single records (records were already verified). */
const recordCursor = new RecordCursor();

/** Every record of an uncompressed records section that `problem` refuses, by index within the batch (KIP-467). */
function recordErrorsOf(section: Uint8Array, count: number, baseTimestamp: number, problem: (c: RecordCursor) => string | null): RecordError[] {
  const errors: RecordError[] = [];
  recordCursor.reset(section, count, baseTimestamp);
  try {
    while (recordCursor.next() && errors.length < MAX_RECORD_ERRORS) {
      const why = problem(recordCursor);
      if (why !== null) errors.push({ batchIndex: recordCursor.index, batchIndexErrorMessage: why });
    }
    return errors;
  } finally {
    recordCursor.release();
  }
}

function fail(code: number, message: string): ProduceValidation {
  return { ok: false, code, message, recordErrors: [] };
}

function timestampProblem(ts: number, config: LogConfig, nowMs: number): string | null {
  if (ts < 0) return null; // NO_TIMESTAMP batches are allowed
  if (config.messageTimestampBeforeMaxMs !== Infinity && nowMs - ts > config.messageTimestampBeforeMaxMs) {
    return `timestamp ${ts} is more than message.timestamp.before.max.ms before now`;
  }
  if (config.messageTimestampAfterMaxMs !== Infinity && ts - nowMs > config.messageTimestampAfterMaxMs) {
    return `timestamp ${ts} is more than message.timestamp.after.max.ms after now`;
  }
  return null;
}

function splitBefore(records: Uint8Array, at: number): Uint8Array[] {
  return at > 0 ? [records.subarray(0, at)] : [];
}

/** Most bytes a compressed batch of this topic may inflate to: 64 times `max.message.bytes`, within a JS array's reach. */
function maxDecompressedBytes(config: LogConfig): number {
  return Math.min(MAX_DECOMPRESSED_BYTES, config.maxMessageBytes * 64 + 1024);
}

/** The codec level a topic config asks for, or undefined for the codec's default. */
function levelFor(codecId: number, config: LogConfig): number | undefined {
  switch (codecId) {
    case 1:
      return config.compressionGzipLevel === -1 ? undefined : config.compressionGzipLevel;
    case 3:
      return config.compressionLz4Level;
    case 4:
      return config.compressionZstdLevel;
    default:
      return undefined;
  }
}

/**
 * A copy of `batch` whose records section is `body`, already in codec `codecId` (0 = stored uncompressed). The
 * header keeps offsets, timestamps and producer fields; only the codec bits, length and CRC change.
 */
function rebuildBatch(batch: Uint8Array, body: Uint8Array, codecId: number): Uint8Array {
  const out = new Uint8Array(BATCH_HEADER_SIZE + body.length);
  out.set(batch.subarray(0, BATCH_HEADER_SIZE), 0);
  out.set(body, BATCH_HEADER_SIZE);
  const dv = dataViewOf(out);
  dv.setInt32(BATCH_LENGTH_OFFSET, out.length - LOG_OVERHEAD);
  dv.setInt16(ATTRIBUTES_OFFSET, (dv.getInt16(ATTRIBUTES_OFFSET) & ~ATTR_COMPRESSION_MASK) | codecId);
  dv.setUint32(CRC_OFFSET, computeBatchCrc(out, 0, out.length));
  return out;
}
