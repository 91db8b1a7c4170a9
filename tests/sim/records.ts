/** Building the simulation's batches and reading them back (values are unique strings naming their producer). */
import { BatchBuilder, RecordCursor, isControlAttributes, isTransactionalAttributes, readBatchHeader, verifyBatchIntegrity } from "../../src/protocol/record-batch.ts";
import { BATCH_HEADER_SIZE, BATCH_LENGTH_OFFSET, LOG_OVERHEAD, dataViewOf } from "../../src/protocol/batch-layout.ts";
import { concatBytes } from "../../src/protocol/wire.ts";

const builder = new BatchBuilder(1 << 16);
const enc = new TextEncoder();
const dec = new TextDecoder();

/** An idempotent producer's identity and sequence for one batch. */
export interface ProducerStamp {
  /** Producer id. */
  id: bigint;
  /** Producer epoch. */
  epoch: number;
  /** Base sequence. */
  seq: number;
  /** Part of a transaction. */
  transactional?: boolean;
}

/** A batch of `values` (idempotent when `stamp` is given). */
export function buildBatch(values: readonly string[], timestampMs: number, stamp: ProducerStamp | null): Uint8Array {
  builder.reset(stamp === null ? {} : { producerId: stamp.id, producerEpoch: stamp.epoch, baseSequence: stamp.seq, isTransactional: stamp.transactional === true });
  for (const v of values) builder.append(timestampMs, null, enc.encode(v));
  return builder.finish().slice();
}

/** One record read back. */
export interface ReadRecord {
  /** Its offset. */
  offset: bigint;
  /** Its value. */
  value: string;
  /** Its batch's producer id. */
  producerId: bigint;
  /** Its batch is transactional. */
  transactional: boolean;
  /** Its batch is a control batch (a transaction marker). */
  control: boolean;
}

/** The records of whole, intact batches in `chunks`; null when a batch fails its CRC (a corrupted read). */
export function decodeBatches(chunks: readonly Uint8Array[]): ReadRecord[] | null {
  const bytes = chunks.length === 1 ? chunks[0] : concatBytes(chunks);
  const dv = dataViewOf(bytes);
  const out: ReadRecord[] = [];
  const cursor = new RecordCursor();
  for (let at = 0; at + LOG_OVERHEAD <= bytes.length; ) {
    const size = dv.getInt32(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE || at + size > bytes.length) break; // a partial batch at the byte limit
    if (verifyBatchIntegrity(bytes, at, size) !== null) return null;
    const h = readBatchHeader(bytes, at);
    cursor.resetRange(bytes, at + BATCH_HEADER_SIZE, at + size, h.recordsCount, Number(h.baseTimestamp), h.baseOffset);
    const [producerId, transactional, control] = [h.producerId, isTransactionalAttributes(h.attributes), isControlAttributes(h.attributes)];
    while (cursor.next()) {
      const value = control ? "" : dec.decode(cursor.bytes.subarray(cursor.valueStart, cursor.valueStart + cursor.valueLength));
      out.push({ offset: h.baseOffset + BigInt(cursor.offsetDelta), value, producerId, transactional, control });
    }
    at += size;
  }
  return out;
}
