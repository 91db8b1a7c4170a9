/**
 * Loading `__consumer_offsets` at start: walks every batch of a partition with a RecordCursor and applies offset
 * commits, group metadata and tombstones to the in-memory groups, the same records the coordinator writes.
 * Transactional offset commits (TxnOffsetCommit) are held per producer until their COMMIT marker (applied) or ABORT
 * marker (dropped); those of transactions still open at the end stay pending.
 */
import type { RecordCursor } from "../protocol/record-batch.ts";
import { replayInSteps } from "../storage/owned-partitions.ts";
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  PRODUCER_ID_OFFSET,
  LOG_OVERHEAD,
  RECORDS_COUNT_OFFSET,
  dataViewOf,
} from "../protocol/batch-layout.ts";
import { ClassicGroup, GroupMember, type GroupState } from "./consumer-group.ts";
import type { GroupLogger } from "./group-config.ts";
import { decodeGroupMetadataValue, decodeOffsetCommitValue, decodeOffsetsTopicKey } from "./offsets-topic-records.ts";
import { OFFSETS_TOPIC, type OffsetsTopicStorage } from "./offsets-topic-storage.ts";
import { ControlRecordType, readTxnMarker } from "../protocol/control-record.ts";
import { offsetsPartitionFor } from "./group-partitioning.ts";
import type { PendingTxnOffsets } from "./txn-offsets.ts";
import { isConsumerGroupRecordType } from "./consumer-group-records.ts";
import type { GroupOffsets } from "./offset-store.ts";

/** Where KIP-848 consumer group records and those groups' offsets go while loading. */
export interface ConsumerGroupRecordSink {
  /** Applies a consumer group record (key versions 3-8). */
  replay(key: Uint8Array, value: Uint8Array | null): void;
  /** The committed offsets of a consumer group, or undefined when no consumer group has this id. */
  offsetsOf(groupId: string): GroupOffsets | undefined;
}

/**
 * Replays one partition of `__consumer_offsets` into `groups` (later records win; tombstones delete) and ends with
 * the number of records applied. Unreadable records are skipped with a warning; compressed batches are decompressed
 * through the storage when it can. It pauses after each read of about `REPLAY_READ_BYTES` (owned-partitions.ts), so
 * a coordinator loading a partition while it serves others gives the event loop back in between (`finishSteps` runs
 * it at once).
 */
export function offsetsPartitionReplay(storage: OffsetsTopicStorage, groups: Map<string, ClassicGroup>, partition: number, log: GroupLogger, pending?: PendingTxnOffsets, consumer?: ConsumerGroupRecordSink): Generator<void, number, void> {
  return replayInSteps(
    `${OFFSETS_TOPIC}-${partition}`,
    (offset, maxBytes) => storage.read(partition, offset, maxBytes),
    (chunk, cursor) => replayChunk(storage, groups, partition, chunk, cursor, log, pending, consumer),
  );
}

function replayChunk(storage: OffsetsTopicStorage, groups: Map<string, ClassicGroup>, partition: number, chunk: Uint8Array, cursor: RecordCursor, log: GroupLogger, pending?: PendingTxnOffsets, consumer?: ConsumerGroupRecordSink): number {
  const dv = dataViewOf(chunk);
  let records = 0;
  for (let at = 0; at + LOG_OVERHEAD <= chunk.length; ) {
    const size = dv.getInt32(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE || at + size > chunk.length) throw new Error(`${OFFSETS_TOPIC}-${partition}: bad batch size ${size} at ${at}`);
    const attributes = dv.getInt16(at + ATTRIBUTES_OFFSET);
    const txnProducer = pending !== undefined && (attributes & ATTR_TRANSACTIONAL) !== 0 ? dv.getBigInt64(at + PRODUCER_ID_OFFSET) : -1n;
    if ((attributes & ATTR_CONTROL) !== 0 && txnProducer >= 0n) {
      replayTxnMarker(storage, groups, partition, chunk, at, size, txnProducer, pending!, log, consumer);
    }
    if ((attributes & ATTR_CONTROL) === 0) {
      const codec = attributes & ATTR_COMPRESSION_MASK;
      if (codec === 0) cursor.resetBatch(chunk, at, size);
      else if (storage.decompress === undefined) {
        log.warn(`${OFFSETS_TOPIC}-${partition}: skipping a compressed batch at offset ${dv.getBigInt64(at + BASE_OFFSET_OFFSET)}`);
        at += size;
        continue;
      } else {
        let section: Uint8Array;
        try {
          section = storage.decompress(codec, chunk.subarray(at + BATCH_HEADER_SIZE, at + size));
        } catch (e) {
          log.warn(`${OFFSETS_TOPIC}-${partition}: skipping an undecodable batch at offset ${dv.getBigInt64(at + BASE_OFFSET_OFFSET)}: ${(e as Error).message}`);
          at += size;
          continue;
        }
        cursor.reset(section, dv.getInt32(at + RECORDS_COUNT_OFFSET), Number(dv.getBigInt64(at + BASE_TIMESTAMP_OFFSET)));
      }
      while (cursor.next()) {
        const key = cursor.key();
        if (key === null) continue;
        try {
          if (txnProducer >= 0n) holdTxnOffset(pending!, groups, txnProducer, key, cursor.value(), consumer);
          else replay(groups, key, cursor.value(), consumer, pending);
          records++;
        } catch (e) {
          log.warn(`${OFFSETS_TOPIC}-${partition}: skipping an unreadable record: ${(e as Error).message}`);
        }
      }
    }
    at += size;
  }
  return records;
}

/** Applies one `__consumer_offsets` record to `groups`. */
function replay(groups: Map<string, ClassicGroup>, key: Uint8Array, value: Uint8Array | null, consumer?: ConsumerGroupRecordSink, pending?: PendingTxnOffsets): void {
  const k = decodeOffsetsTopicKey(key);
  if (k.kind === "other") {
    if (consumer !== undefined && isConsumerGroupRecordType(k.version)) consumer.replay(key, value);
    return;
  }
  // an offset tombstone (OffsetDelete) drops the partition's pending transactional offsets too, as Kafka's replay
  if (k.kind === "offset" && value === null) pending?.drop(k.group, k.topic, k.partition);
  let g = groups.get(k.group);
  const consumerOffsets = k.kind === "offset" ? consumer?.offsetsOf(k.group) : undefined;
  if (k.kind === "offset" && consumerOffsets !== undefined) {
    if (value === null) consumerOffsets.delete(k.topic, k.partition);
    else consumerOffsets.set(k.topic, k.partition, decodeOffsetCommitValue(value));
    return;
  }
  if (k.kind === "offset") {
    if (value === null) {
      g?.offsets.delete(k.topic, k.partition);
      return;
    }
    if (g === undefined) {
      g = new ClassicGroup(k.group);
      groups.set(k.group, g);
    }
    g.offsets.set(k.topic, k.partition, decodeOffsetCommitValue(value));
    return;
  }
  if (value === null) {
    if (g === undefined) return;
    if (g.offsets.size === 0) {
      groups.delete(k.group);
      return;
    }
    const fresh = new ClassicGroup(k.group);
    for (const key of g.offsets.keys()) fresh.offsets.set(key.topic, key.partition, g.offsets.get(key.topic, key.partition)!);
    groups.set(k.group, fresh);
    return;
  }
  const v = decodeGroupMetadataValue(value);
  const fresh = new ClassicGroup(k.group);
  if (g !== undefined) for (const key of g.offsets.keys()) fresh.offsets.set(key.topic, key.partition, g.offsets.get(key.topic, key.partition)!);
  const protocolType = v.protocolType === "" ? null : v.protocolType;
  for (const m of v.members) {
    const member = new GroupMember({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      sessionTimeoutMs: m.sessionTimeoutMs,
      protocolType: v.protocolType,
      protocols: [{ name: v.protocol ?? "", metadata: m.subscription }],
    });
    member.assignment = m.assignment;
    fresh.add(member);
  }
  fresh.protocolType = protocolType;
  fresh.generationId = v.generation;
  fresh.protocolName = v.protocol;
  fresh.leaderId = v.members.length > 0 ? v.leader : null;
  if (fresh.leaderId !== null && !fresh.members.has(fresh.leaderId)) fresh.leaderId = fresh.members.keys().next().value ?? null;
  const state: GroupState = v.members.length > 0 ? "Stable" : "Empty";
  fresh.state = state;
  fresh.previousState = state;
  fresh.stateTimestampMs = v.currentStateTimestamp;
  fresh.subscribedTopics = fresh.computeSubscribedTopics();
  groups.set(k.group, fresh);
}

/**
 * Holds a transactional offset commit until its transaction's marker. As any offset record, it creates a "simple"
 * group (empty, no protocol type) when no group has its id, which stays whatever the marker (Kafka's replay).
 */
function holdTxnOffset(pending: PendingTxnOffsets, groups: Map<string, ClassicGroup>, producerId: bigint, key: Uint8Array, value: Uint8Array | null, consumer?: ConsumerGroupRecordSink): void {
  const k = decodeOffsetsTopicKey(key);
  if (k.kind !== "offset" || value === null) return;
  if (!groups.has(k.group) && consumer?.offsetsOf(k.group) === undefined) groups.set(k.group, new ClassicGroup(k.group));
  pending.add(producerId, { groupId: k.group, topic: k.topic, partition: k.partition, value: decodeOffsetCommitValue(value) });
}

/** Applies (COMMIT) or drops (ABORT) the producer's pending offsets of groups in this partition. */
function replayTxnMarker(storage: OffsetsTopicStorage, groups: Map<string, ClassicGroup>, partition: number, chunk: Uint8Array, at: number, size: number, producerId: bigint, pending: PendingTxnOffsets, log: GroupLogger, consumer?: ConsumerGroupRecordSink): void {
  let marker;
  try {
    marker = readTxnMarker(chunk, at, size);
  } catch (e) {
    log.warn(`${OFFSETS_TOPIC}-${partition}: skipping an unreadable transaction marker: ${(e as Error).message}`);
    return;
  }
  if (marker === null) return;
  const n = storage.partitionCount();
  const taken = pending.take(producerId, (groupId) => offsetsPartitionFor(groupId, n) === partition);
  if (marker.type !== ControlRecordType.COMMIT) return;
  for (const o of taken) {
    const consumerOffsets = consumer?.offsetsOf(o.groupId);
    if (consumerOffsets !== undefined) {
      consumerOffsets.set(o.topic, o.partition, o.value);
      continue;
    }
    let g = groups.get(o.groupId);
    if (g === undefined) {
      g = new ClassicGroup(o.groupId);
      groups.set(o.groupId, g);
    }
    g.offsets.set(o.topic, o.partition, o.value);
  }
}
