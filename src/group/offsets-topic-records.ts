/**
 * Record layouts of the internal `__consumer_offsets` topic, Kafka-compatible so Kafka tools can read them:
 *
 * - key v0/v1 `OffsetCommitKey`: int16 version, group string, topic string, partition int32;
 *   value `OffsetCommitValue` v0-v4: offset int64, leader epoch int32 (v3+), metadata string, commit timestamp int64,
 *   expire timestamp int64 (v1 only); v4 is flexible (compact strings, tagged fields).
 * - key v2 `GroupMetadataKey`: int16 version, group string;
 *   value `GroupMetadataValue` v0-v4: protocol type, generation, protocol (nullable), leader (nullable), current
 *   state timestamp (v2+), members (member id, group instance id (v3+), client id, client host, rebalance timeout (v1+),
 *   session timeout, subscription bytes, assignment bytes); v4 is flexible.
 * - a null value is a tombstone (offset or group deleted).
 *
 * Runnel writes OffsetCommitValue v3 (v1 when an explicit expire timestamp is present, as Kafka does) and
 * GroupMetadataValue v3; it reads every version above. Other key versions are reported as `other`: the KIP-848
 * consumer group records (3-8) go to consumer-group-records.ts, the rest (share groups, ...) are skipped.
 */
import { MalformedFrameError, Reader, Writer } from "../protocol/wire.ts";

/** Key version of an offset commit written by current Kafka (v0 is the same layout). */
export const OFFSET_COMMIT_KEY_VERSION = 1;
/** Key version of group metadata. */
export const GROUP_METADATA_KEY_VERSION = 2;
/** Highest OffsetCommitValue version read. */
const MAX_OFFSET_VALUE_VERSION = 4;
/** Highest GroupMetadataValue version read. */
const MAX_GROUP_VALUE_VERSION = 4;
/** Largest member count accepted when decoding a group record (guards a corrupt length). */
const MAX_DECODED_MEMBERS = 1_000_000;

/** One committed offset as stored. */
export interface OffsetCommitRecordValue {
  /** The committed offset. */
  offset: bigint;
  /** Leader epoch of the committed offset, -1 if unknown. */
  leaderEpoch: number;
  /** Client-supplied metadata string. */
  metadata: string;
  /** When the commit happened (ms since epoch). */
  commitTimestamp: number;
  /** Explicit expiry (ms since epoch) from an OffsetCommit v2-v4 retention time, or -1. */
  expireTimestamp: number;
}

/** One member inside a stored group record. */
export interface GroupMemberRecord {
  /** Member id. */
  memberId: string;
  /** Static member instance id, or null. */
  groupInstanceId: string | null;
  /** Client id. */
  clientId: string;
  /** Client host. */
  clientHost: string;
  /** Rebalance timeout (ms). */
  rebalanceTimeoutMs: number;
  /** Session timeout (ms). */
  sessionTimeoutMs: number;
  /** The member's metadata for the selected protocol. */
  subscription: Uint8Array;
  /** The member's assignment. */
  assignment: Uint8Array;
}

/** A group's stored state. */
export interface GroupMetadataRecordValue {
  /** Protocol type ("consumer", "connect", ... ; "" for a group that only stores offsets). */
  protocolType: string;
  /** Generation id. */
  generation: number;
  /** Selected protocol, or null. */
  protocol: string | null;
  /** Leader member id, or null. */
  leader: string | null;
  /** When the group entered its current state (ms since epoch), or -1. */
  currentStateTimestamp: number;
  /** Members of the generation. */
  members: GroupMemberRecord[];
}

/** A decoded `__consumer_offsets` key. */
export type OffsetsTopicKey =
  | { kind: "offset"; group: string; topic: string; partition: number }
  | { kind: "group"; group: string }
  | { kind: "other"; version: number };

const scratch = new Writer(4096);

function finish(w: Writer): Uint8Array {
  return w.finishContiguous().slice();
}

/** Encodes an offset commit key (v1). */
export function encodeOffsetCommitKey(group: string, topic: string, partition: number): Uint8Array {
  const w = scratch.reset();
  w.int16(OFFSET_COMMIT_KEY_VERSION);
  w.string(group);
  w.string(topic);
  w.int32(partition);
  return finish(w);
}

/** Encodes a group metadata key (v2). */
export function encodeGroupMetadataKey(group: string): Uint8Array {
  const w = scratch.reset();
  w.int16(GROUP_METADATA_KEY_VERSION);
  w.string(group);
  return finish(w);
}

/** Decodes a `__consumer_offsets` key; throws {@link MalformedFrameError} on a truncated key. */
export function decodeOffsetsTopicKey(key: Uint8Array): OffsetsTopicKey {
  const r = new Reader(key);
  const version = r.int16();
  if (version === 0 || version === 1) {
    const group = r.string(false)!;
    const topic = r.string(false)!;
    const partition = r.int32();
    return { kind: "offset", group, topic, partition };
  }
  if (version === 2) return { kind: "group", group: r.string(false)! };
  return { kind: "other", version };
}

/** Encodes an offset commit value: v3, or v1 when it carries an explicit expire timestamp. */
export function encodeOffsetCommitValue(v: OffsetCommitRecordValue): Uint8Array {
  const w = scratch.reset();
  if (v.expireTimestamp >= 0) {
    w.int16(1);
    w.int64(v.offset);
    w.string(v.metadata);
    w.int64(BigInt(v.commitTimestamp));
    w.int64(BigInt(v.expireTimestamp));
    return finish(w);
  }
  w.int16(3);
  w.int64(v.offset);
  w.int32(v.leaderEpoch);
  w.string(v.metadata);
  w.int64(BigInt(v.commitTimestamp));
  return finish(w);
}

/** Decodes an offset commit value of versions 0-4. */
export function decodeOffsetCommitValue(value: Uint8Array): OffsetCommitRecordValue {
  const r = new Reader(value);
  const version = r.int16();
  if (version < 0 || version > MAX_OFFSET_VALUE_VERSION) {
    throw new MalformedFrameError(`unknown OffsetCommitValue version ${version}`, 0);
  }
  const flexible = version >= 4;
  const offset = r.int64();
  const leaderEpoch = version >= 3 ? r.int32() : -1;
  const metadata = (flexible ? r.compactString(false) : r.string(false))!;
  const commitTimestamp = Number(r.int64());
  const expireTimestamp = version === 1 ? Number(r.int64()) : -1;
  if (flexible) r.unknownTagSection();
  return { offset, leaderEpoch, metadata, commitTimestamp, expireTimestamp };
}

/** Encodes a group metadata value (v3). */
export function encodeGroupMetadataValue(v: GroupMetadataRecordValue): Uint8Array {
  const w = scratch.reset();
  w.int16(3);
  w.string(v.protocolType);
  w.int32(v.generation);
  w.string(v.protocol);
  w.string(v.leader);
  w.int64(BigInt(v.currentStateTimestamp));
  w.int32(v.members.length);
  for (const m of v.members) {
    w.string(m.memberId);
    w.string(m.groupInstanceId);
    w.string(m.clientId);
    w.string(m.clientHost);
    w.int32(m.rebalanceTimeoutMs);
    w.int32(m.sessionTimeoutMs);
    w.bytes(m.subscription);
    w.bytes(m.assignment);
  }
  return finish(w);
}

/** Decodes a group metadata value of versions 0-4. */
export function decodeGroupMetadataValue(value: Uint8Array): GroupMetadataRecordValue {
  const r = new Reader(value);
  const version = r.int16();
  if (version < 0 || version > MAX_GROUP_VALUE_VERSION) {
    throw new MalformedFrameError(`unknown GroupMetadataValue version ${version}`, 0);
  }
  const flexible = version >= 4;
  const str = (nullable: boolean) => (flexible ? r.compactString(nullable) : r.string(nullable));
  const bytes = () => (flexible ? r.compactBytes(false) : r.bytes(false))!.slice();
  const protocolType = str(false)!;
  const generation = r.int32();
  const protocol = str(true);
  const leader = str(true);
  const currentStateTimestamp = version >= 2 ? Number(r.int64()) : -1;
  const count = flexible ? r.compactArrayLength(false) : r.arrayLength(false);
  if (count > MAX_DECODED_MEMBERS) throw new MalformedFrameError(`group record with ${count} members`, r.pos);
  const members: GroupMemberRecord[] = [];
  for (let i = 0; i < count; i++) {
    const memberId = str(false)!;
    const groupInstanceId = version >= 3 ? str(true) : null;
    const clientId = str(false)!;
    const clientHost = str(false)!;
    const rebalanceTimeoutMs = version >= 1 ? r.int32() : -1;
    const sessionTimeoutMs = r.int32();
    const subscription = bytes();
    const assignment = bytes();
    if (flexible) r.unknownTagSection();
    members.push({
      memberId,
      groupInstanceId,
      clientId,
      clientHost,
      rebalanceTimeoutMs: rebalanceTimeoutMs === -1 ? sessionTimeoutMs : rebalanceTimeoutMs,
      sessionTimeoutMs,
      subscription,
      assignment,
    });
  }
  if (flexible) r.unknownTagSection();
  return { protocolType, generation, protocol, leader, currentStateTimestamp, members };
}
