/**
 * Reading a partition's `.log` files the way a replica comparison needs them: up to the end of their record batches.
 * An active segment may hold zeros written ahead of its end (`runnel.log.pretouch.bytes`, `log.preallocate`); how
 * many differs between brokers, so two replicas with the same batches can differ in file length.
 */
import * as fs from "node:fs";

/** Bytes of a batch's offset and length fields (Kafka's LOG_OVERHEAD). */
const LOG_OVERHEAD = 12;

/** The bytes of `file` up to the end of its last whole record batch (zeros and a torn tail left out). */
export function logFileBatchBytes(file: string): Buffer {
  const buf = fs.readFileSync(file);
  let end = 0;
  while (end + LOG_OVERHEAD <= buf.length) {
    const batchLength = buf.readInt32BE(end + 8);
    if (batchLength <= 0 || end + LOG_OVERHEAD + batchLength > buf.length) break;
    end += LOG_OVERHEAD + batchLength;
  }
  return buf.subarray(0, end);
}
