/**
 * Reads the parts of the "consumer" embedded protocol the coordinator needs: the topics in a member's subscription
 * (offset expiry and OffsetDelete skip subscribed topics) and the partitions in a member's assignment (lag rows).
 * Both start with an int16 version; newer versions than the schema knows are read as the newest known one, as
 * Kafka's ConsumerProtocol does. Unreadable bytes give null: they are the clients' business, not the broker's.
 */
import { Reader, Writer } from "../protocol/wire.ts";
import { readConsumerProtocolAssignment, writeConsumerProtocolAssignment } from "../protocol/generated/data_consumer_protocol_assignment.ts";
import { readConsumerProtocolSubscription } from "../protocol/generated/data_consumer_protocol_subscription.ts";

/** Protocol type of groups formed by Kafka consumers. */
export const CONSUMER_PROTOCOL_TYPE = "consumer";
/** Highest ConsumerProtocolSubscription/Assignment version the generated codecs read. */
const MAX_CONSUMER_PROTOCOL_VERSION = 3;

/** The topics a consumer subscribes to, or null when the metadata cannot be read. */
export function subscribedTopicsOf(metadata: Uint8Array): string[] | null {
  if (metadata.length < 2) return null;
  try {
    const r = new Reader(metadata);
    const version = Math.min(r.int16(), MAX_CONSUMER_PROTOCOL_VERSION);
    if (version < 0) return null;
    return readConsumerProtocolSubscription(r, version).topics;
  } catch {
    return null;
  }
}

/** A consumer's subscription: topics and (version 1+) the partitions it owns, or null when unreadable. */
export function readSubscription(metadata: Uint8Array): { topics: string[]; ownedPartitions: AssignedTopic[] } | null {
  if (metadata.length < 2) return null;
  try {
    const r = new Reader(metadata);
    const version = Math.min(r.int16(), MAX_CONSUMER_PROTOCOL_VERSION);
    if (version < 0) return null;
    const s = readConsumerProtocolSubscription(r, version);
    return { topics: s.topics, ownedPartitions: (s.ownedPartitions ?? []).map((t) => ({ topic: t.topic, partitions: t.partitions })) };
  } catch {
    return null;
  }
}

/** A topic and the partitions of it assigned to one member. */
export interface AssignedTopic {
  /** Topic name. */
  topic: string;
  /** Partition indexes. */
  partitions: number[];
}

/** The partitions in a consumer's assignment, or null when the assignment cannot be read (empty = none). */
export function assignedPartitionsOf(assignment: Uint8Array): AssignedTopic[] | null {
  if (assignment.length === 0) return [];
  if (assignment.length < 2) return null;
  try {
    const r = new Reader(assignment);
    const version = Math.min(r.int16(), MAX_CONSUMER_PROTOCOL_VERSION);
    if (version < 0) return null;
    return readConsumerProtocolAssignment(r, version).assignedPartitions.map((t) => ({ topic: t.topic, partitions: t.partitions }));
  } catch {
    return null;
  }
}

/** A consumer-protocol assignment (version 0) of these partitions, as a classic leader would send it. */
export function encodeConsumerAssignment(parts: readonly AssignedTopic[]): Uint8Array {
  const w = new Writer(256);
  w.int16(0);
  writeConsumerProtocolAssignment(w, 0, { assignedPartitions: parts.map((p) => ({ topic: p.topic, partitions: p.partitions })), userData: null });
  return w.finishContiguous().slice();
}
