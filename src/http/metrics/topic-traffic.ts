/** Counting hooks the Produce and Fetch handlers call: bytes and records per topic, without allocating. */
import { ATTRIBUTES_OFFSET, ATTR_CONTROL, BATCH_HEADER_SIZE, BATCH_LENGTH_OFFSET, LOG_OVERHEAD, RECORDS_COUNT_OFFSET } from "../../protocol/batch-layout.ts";
import type { BrokerMetrics } from "./broker-metrics.ts";

function int32At(b: Uint8Array, at: number): number {
  return (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
}

/** Records in the data batches of `chunk` (whole v2 batches back to back; control batches are not counted). */
export function dataRecordsIn(chunk: Uint8Array): number {
  let n = 0;
  for (let at = 0; at + BATCH_HEADER_SIZE <= chunk.length; ) {
    if ((chunk[at + ATTRIBUTES_OFFSET + 1] & ATTR_CONTROL) === 0) n += int32At(chunk, at + RECORDS_COUNT_OFFSET);
    const size = int32At(chunk, at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    if (size <= LOG_OVERHEAD) break;
    at += size;
  }
  return n;
}

/** Counts an accepted produce of `bytes` bytes and `records` records to `topic`. */
export function countProduced(m: BrokerMetrics, topic: string, bytes: number, records: number): void {
  const t = m.topic(topic);
  t.bytesIn += bytes;
  t.messagesIn += records;
}

/** Counts fetched records of `topic` returned to a client (`records` is one view or the log's chunks). */
export function countFetched(m: BrokerMetrics, topic: string, bytes: number, records: Uint8Array | Uint8Array[]): void {
  const t = m.topic(topic);
  t.bytesOut += bytes;
  if (records instanceof Uint8Array) t.messagesOut += dataRecordsIn(records);
  else for (let i = 0; i < records.length; i++) t.messagesOut += dataRecordsIn(records[i]);
}
