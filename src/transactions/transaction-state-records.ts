/**
 * Record layouts of the internal `__transaction_state` topic, Kafka-compatible so Kafka tools can read them:
 *
 * - key `TransactionLogKey` v0: int16 version (0), transactional id (int16-length string);
 * - value `TransactionLogValue` v0: int16 version, producer id int64, producer epoch int16, timeout int32,
 *   status int8, partitions (nullable int32-count array of topic string + int32-count array of int32),
 *   last update timestamp int64, start timestamp int64;
 *   v1 is the flexible form (compact strings and arrays, tagged fields: 0 previous producer id, 1 next producer
 *   id, 2 client transaction version), written when one of those fields is set, as Kafka does for
 *   transaction version 2;
 * - a null value is a tombstone (the transactional id expired).
 */
import { MalformedFrameError, Reader, Writer } from "../protocol/wire.ts";
import { MAX_PARTITIONS_PER_TRANSACTION, NO_PRODUCER_ID, txnStateId, txnStateOf, type TxnRecord } from "./transaction-state.ts";

/** Key version written (the only one). */
export const TXN_KEY_VERSION = 0;
/** Highest value version read. */
const MAX_TXN_VALUE_VERSION = 1;
/** Tag of PreviousProducerId in value v1. */
const TAG_PREVIOUS_PRODUCER_ID = 0;
/** Tag of NextProducerId in value v1. */
const TAG_NEXT_PRODUCER_ID = 1;
/** Tag of ClientTransactionVersion in value v1. */
const TAG_CLIENT_TRANSACTION_VERSION = 2;

const scratch = new Writer(4096);

function finish(w: Writer): Uint8Array {
  return w.finishContiguous().slice();
}

/** Encodes the key of a transactional id. */
export function encodeTxnKey(transactionalId: string): Uint8Array {
  const w = scratch.reset();
  w.int16(TXN_KEY_VERSION);
  w.string(transactionalId);
  return finish(w);
}

/** Decodes a key: the transactional id, or null for a key version this broker does not know. */
export function decodeTxnKey(key: Uint8Array): string | null {
  const r = new Reader(key);
  const version = r.int16();
  if (version !== TXN_KEY_VERSION) return null;
  return r.string(false)!;
}

/** Encodes a value: v0, or v1 when previous/next producer id or a client transaction version is set. */
export function encodeTxnValue(v: TxnRecord): Uint8Array {
  const flexible = v.previousProducerId !== NO_PRODUCER_ID || v.nextProducerId !== NO_PRODUCER_ID || v.clientTransactionVersion > 1;
  const w = scratch.reset();
  w.int16(flexible ? 1 : 0);
  w.int64(v.producerId);
  w.int16(v.producerEpoch);
  w.int32(v.timeoutMs);
  w.int8(txnStateId(v.state));
  const topics = [...v.partitions.keys()].sort();
  if (v.state === "Empty") {
    if (flexible) w.uvarint(0);
    else w.int32(-1);
  } else {
    if (flexible) w.uvarint(topics.length + 1);
    else w.int32(topics.length);
    for (const t of topics) {
      const parts = [...v.partitions.get(t)!].sort((a, b) => a - b);
      if (flexible) {
        w.compactString(t);
        w.uvarint(parts.length + 1);
      } else {
        w.string(t);
        w.int32(parts.length);
      }
      for (const p of parts) w.int32(p);
      if (flexible) w.uvarint(0);
    }
  }
  w.int64(BigInt(v.lastUpdateTimestamp));
  w.int64(BigInt(v.startTimestamp));
  if (flexible) {
    let n = 0;
    if (v.previousProducerId !== NO_PRODUCER_ID) n++;
    if (v.nextProducerId !== NO_PRODUCER_ID) n++;
    if (v.clientTransactionVersion !== 0) n++;
    w.uvarint(n);
    if (v.previousProducerId !== NO_PRODUCER_ID) {
      w.uvarint(TAG_PREVIOUS_PRODUCER_ID);
      w.uvarint(8);
      w.int64(v.previousProducerId);
    }
    if (v.nextProducerId !== NO_PRODUCER_ID) {
      w.uvarint(TAG_NEXT_PRODUCER_ID);
      w.uvarint(8);
      w.int64(v.nextProducerId);
    }
    if (v.clientTransactionVersion !== 0) {
      w.uvarint(TAG_CLIENT_TRANSACTION_VERSION);
      w.uvarint(2);
      w.int16(v.clientTransactionVersion);
    }
  }
  return finish(w);
}

/** Decodes a value (v0 or v1); throws {@link MalformedFrameError} on a truncated or unknown one. */
export function decodeTxnValue(value: Uint8Array): TxnRecord {
  const r = new Reader(value);
  const version = r.int16();
  if (version < 0 || version > MAX_TXN_VALUE_VERSION) throw new MalformedFrameError(`unknown TransactionLogValue version ${version}`, 0);
  const flexible = version >= 1;
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const timeoutMs = r.int32();
  const state = txnStateOf(r.int8());
  const partitions = new Map<string, Set<number>>();
  const topicCount = flexible ? r.compactArrayLength(true) : r.arrayLength(true);
  let total = 0;
  for (let i = 0; i < topicCount; i++) {
    const topic = (flexible ? r.compactString(false) : r.string(false))!;
    const n = flexible ? r.compactArrayLength(false) : r.arrayLength(false);
    total += n;
    if (total > MAX_PARTITIONS_PER_TRANSACTION) throw new MalformedFrameError(`more than ${MAX_PARTITIONS_PER_TRANSACTION} partitions`, r.pos);
    const set = new Set<number>();
    for (let k = 0; k < n; k++) set.add(r.int32());
    partitions.set(topic, set);
    if (flexible) r.unknownTagSection();
  }
  const lastUpdateTimestamp = Number(r.int64());
  const startTimestamp = Number(r.int64());
  let previousProducerId = NO_PRODUCER_ID;
  let nextProducerId = NO_PRODUCER_ID;
  let clientTransactionVersion = 0;
  if (flexible) {
    for (const t of r.unknownTagSection() ?? []) {
      const tr = new Reader(t.data);
      if (t.tag === TAG_PREVIOUS_PRODUCER_ID) previousProducerId = tr.int64();
      else if (t.tag === TAG_NEXT_PRODUCER_ID) nextProducerId = tr.int64();
      else if (t.tag === TAG_CLIENT_TRANSACTION_VERSION) clientTransactionVersion = tr.int16();
    }
  }
  return { producerId, previousProducerId, nextProducerId, producerEpoch, timeoutMs, state, partitions, lastUpdateTimestamp, startTimestamp, clientTransactionVersion };
}
