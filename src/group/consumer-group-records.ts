/**
 * Record layouts of KIP-848 consumer groups in `__consumer_offsets`, as Kafka's group coordinator writes them.
 * A key is an int16 key version (Kafka's record type) followed by non-flexible strings; a value is an int16 value
 * version (0) followed by a flexible body (compact strings and arrays, tagged fields). A null value is a tombstone.
 *
 * | key version | record | key fields | value v0 |
 * | --- | --- | --- | --- |
 * | 3 | ConsumerGroupMetadata | group | epoch int32; tag 0 metadata hash int64 |
 * | 4 | ConsumerGroupPartitionMetadata | group | topics [id uuid, name, partitions int32, racks []] |
 * | 5 | ConsumerGroupMemberMetadata | group, member | instance id?, rack id?, client id, client host, topic names [], regex?, rebalance timeout int32, server assignor?; tag 0 classic member metadata (session timeout, protocols) |
 * | 6 | ConsumerGroupTargetAssignmentMetadata | group | assignment epoch int32 |
 * | 7 | ConsumerGroupTargetAssignmentMember | group, member | topic partitions [id uuid, partitions []int32] |
 * | 8 | ConsumerGroupCurrentMemberAssignment | group, member | member epoch, previous member epoch int32, state int8, assigned and pending-revocation topic partitions |
 * | 16 | ConsumerGroupRegularExpression | group, regex | topics [], version int64, timestamp int64 |
 */
import { MalformedFrameError, Reader, Writer } from "../protocol/wire.ts";
import { uuidFromHex, uuidHex } from "../protocol/uuid.ts";

/** Key versions (record types) of the consumer group records. */
export const ConsumerGroupRecordType = {
  GROUP_METADATA: 3,
  PARTITION_METADATA: 4,
  MEMBER_METADATA: 5,
  TARGET_ASSIGNMENT_METADATA: 6,
  TARGET_ASSIGNMENT_MEMBER: 7,
  CURRENT_MEMBER_ASSIGNMENT: 8,
  REGULAR_EXPRESSION: 16,
} as const;

/** Whether a key version is one of the consumer group records. */
export function isConsumerGroupRecordType(version: number): boolean {
  return (version >= 3 && version <= 8) || version === 16;
}

/** Partitions by topic id (hex). */
export type TopicPartitionsById = Map<string, Set<number>>;

/** Epochs by topic id (hex) and partition. */
export type AssignmentEpochs = Map<string, Map<number, number>>;

/** A decoded consumer group key. */
export interface ConsumerGroupKey {
  /** Record type (key version). */
  type: number;
  /** Group id. */
  group: string;
  /** Member id for member-level records, else null. */
  member: string | null;
}

/** A member that speaks the classic protocol inside a consumer group (tag 0 of ConsumerGroupMemberMetadataValue). */
export interface ClassicMemberMetadata {
  /** Its JoinGroup session timeout (ms). */
  sessionTimeoutMs: number;
  /** Its protocols (assignor names and subscription metadata), in preference order. */
  supportedProtocols: { name: string; metadata: Uint8Array }[];
}

/** Member subscription as stored (ConsumerGroupMemberMetadataValue). */
export interface MemberMetadataRecord {
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  rebalanceTimeoutMs: number;
  serverAssignor: string | null;
  /** Set for a member using JoinGroup/SyncGroup/Heartbeat (a classic consumer in a consumer group), else null. */
  classic: ClassicMemberMetadata | null;
}

/** Member's current assignment as stored (ConsumerGroupCurrentMemberAssignmentValue). */
export interface CurrentAssignmentRecord {
  memberEpoch: number;
  previousMemberEpoch: number;
  state: number;
  assigned: TopicPartitionsById;
  pendingRevocation: TopicPartitionsById;
  /** KIP-1251: the member epoch at which each assigned partition was given to the member (tag 0 per topic). */
  assignmentEpochs: AssignmentEpochs;
}

/** One subscribed topic as stored in ConsumerGroupPartitionMetadataValue. */
export interface TopicMetadataRecord {
  idHex: string;
  name: string;
  numPartitions: number;
}

/** A decoded consumer group record value. */
export type ConsumerGroupValue =
  | { type: 3; epoch: number }
  | { type: 4; topics: TopicMetadataRecord[] }
  | { type: 5; member: MemberMetadataRecord }
  | { type: 6; assignmentEpoch: number }
  | { type: 7; partitions: TopicPartitionsById }
  | { type: 8; assignment: CurrentAssignmentRecord }
  | { type: 16; topics: string[]; version: bigint; timestamp: number };

/** Largest array length accepted when decoding (guards a corrupt length). */
const MAX_DECODED_ITEMS = 1_000_000;

const scratch = new Writer(4096);

function finish(w: Writer): Uint8Array {
  return w.finishContiguous().slice();
}

/** Encodes a group-level key (types 3, 4, 6). */
export function encodeConsumerGroupKey(type: number, group: string): Uint8Array {
  const w = scratch.reset();
  w.int16(type);
  w.string(group);
  return finish(w);
}

/** Encodes a member-level key (types 5, 7, 8). */
export function encodeConsumerGroupMemberKey(type: number, group: string, member: string): Uint8Array {
  const w = scratch.reset();
  w.int16(type);
  w.string(group);
  w.string(member);
  return finish(w);
}

/** Decodes a consumer group key whose version is {@link isConsumerGroupRecordType}. */
export function decodeConsumerGroupKey(key: Uint8Array): ConsumerGroupKey {
  const r = new Reader(key);
  const type = r.int16();
  if (!isConsumerGroupRecordType(type)) throw new MalformedFrameError(`not a consumer group key version ${type}`, 0);
  const group = r.string(false)!;
  // Member-level keys carry the member id; the regex key (16) carries the regular expression in the same place.
  const member = type === 5 || type === 7 || type === 8 || type === 16 ? r.string(false)! : null;
  return { type, group, member };
}

/** Encodes ConsumerGroupMetadataValue v0. */
export function encodeGroupEpochValue(epoch: number): Uint8Array {
  const w = scratch.reset();
  w.int16(0);
  w.int32(epoch);
  w.uvarint(0);
  return finish(w);
}

/** Encodes ConsumerGroupPartitionMetadataValue v0 (no racks). */
export function encodePartitionMetadataValue(topics: readonly TopicMetadataRecord[]): Uint8Array {
  const w = scratch.reset();
  w.int16(0);
  w.uvarint(topics.length + 1);
  for (const t of topics) {
    w.uuid(uuidFromHex(t.idHex));
    w.compactString(t.name);
    w.int32(t.numPartitions);
    w.uvarint(1); // no partition racks
    w.uvarint(0);
  }
  w.uvarint(0);
  return finish(w);
}

/** Encodes ConsumerGroupMemberMetadataValue v0. */
export function encodeMemberMetadataValue(m: MemberMetadataRecord): Uint8Array {
  const w = scratch.reset();
  w.int16(0);
  w.compactString(m.instanceId);
  w.compactString(m.rackId);
  w.compactString(m.clientId);
  w.compactString(m.clientHost);
  w.uvarint(m.subscribedTopicNames.length + 1);
  for (const n of m.subscribedTopicNames) w.compactString(n);
  w.compactString(m.subscribedTopicRegex);
  w.int32(m.rebalanceTimeoutMs);
  w.compactString(m.serverAssignor);
  if (m.classic === null) w.uvarint(0);
  else {
    const tag = encodeClassicMetadata(m.classic);
    w.uvarint(1);
    w.uvarint(0);
    w.uvarint(tag.length);
    w.raw(tag);
  }
  return finish(w);
}

/** Encodes ConsumerGroupRegularExpressionValue v0: the topics a regex resolved to, the metadata version and when. */
export function encodeRegularExpressionValue(topics: readonly string[], version: number, timestamp: number): Uint8Array {
  const w = scratch.reset();
  w.int16(0);
  w.uvarint(topics.length + 1);
  for (const t of [...topics].sort()) w.compactString(t);
  w.int64(BigInt(version));
  w.int64(BigInt(timestamp));
  w.uvarint(0);
  return finish(w);
}

/** Encodes ConsumerGroupTargetAssignmentMetadataValue v0. */
export function encodeTargetAssignmentMetadataValue(assignmentEpoch: number): Uint8Array {
  const w = scratch.reset();
  w.int16(0);
  w.int32(assignmentEpoch);
  w.uvarint(0);
  return finish(w);
}

/** Encodes ConsumerGroupTargetAssignmentMemberValue v0. */
export function encodeTargetAssignmentMemberValue(partitions: TopicPartitionsById): Uint8Array {
  const w = scratch.reset();
  w.int16(0);
  writeTopicPartitions(w, partitions);
  w.uvarint(0);
  return finish(w);
}

/** Encodes ConsumerGroupCurrentMemberAssignmentValue v0. */
export function encodeCurrentAssignmentValue(a: CurrentAssignmentRecord): Uint8Array {
  const w = scratch.reset();
  w.int16(0);
  w.int32(a.memberEpoch);
  w.int32(a.previousMemberEpoch);
  w.int8(a.state);
  writeTopicPartitions(w, a.assigned, a.assignmentEpochs);
  writeTopicPartitions(w, a.pendingRevocation);
  w.uvarint(0);
  return finish(w);
}

function encodeClassicMetadata(c: ClassicMemberMetadata): Uint8Array {
  const w = new Writer(256);
  w.int32(c.sessionTimeoutMs);
  w.uvarint(c.supportedProtocols.length + 1);
  for (const p of c.supportedProtocols) {
    w.compactString(p.name);
    w.compactBytes(p.metadata);
    w.uvarint(0);
  }
  w.uvarint(0);
  return w.finishContiguous().slice();
}

function decodeClassicMetadata(data: Uint8Array): ClassicMemberMetadata {
  const r = new Reader(data);
  const sessionTimeoutMs = r.int32();
  const n = count(r);
  const supportedProtocols: ClassicMemberMetadata["supportedProtocols"] = [];
  for (let i = 0; i < n; i++) {
    const name = r.compactString(false)!;
    const metadata = r.compactBytes(false)!.slice();
    r.unknownTagSection();
    supportedProtocols.push({ name, metadata });
  }
  r.unknownTagSection();
  return { sessionTimeoutMs, supportedProtocols };
}

function writeTopicPartitions(w: Writer, parts: TopicPartitionsById, epochs?: AssignmentEpochs): void {
  const topics = [...parts.keys()].sort();
  w.uvarint(topics.length + 1);
  for (const id of topics) {
    w.uuid(uuidFromHex(id));
    const ps = [...parts.get(id)!].sort((a, b) => a - b);
    w.uvarint(ps.length + 1);
    for (const p of ps) w.int32(p);
    const e = epochs?.get(id);
    if (e === undefined) w.uvarint(0);
    else {
      // Tag 0: AssignmentEpochs, aligned with the partitions.
      const tag = new Writer(64);
      tag.uvarint(ps.length + 1);
      for (const p of ps) tag.int32(e.get(p) ?? -1);
      const bytes = tag.finishContiguous();
      w.uvarint(1);
      w.uvarint(0);
      w.uvarint(bytes.length);
      w.raw(bytes);
    }
  }
}

function count(r: Reader): number {
  const n = r.compactArrayLength(false);
  if (n > MAX_DECODED_ITEMS) throw new MalformedFrameError(`array of ${n} items in a consumer group record`, r.pos);
  return n;
}

function readTopicPartitions(r: Reader, epochs?: AssignmentEpochs): TopicPartitionsById {
  const out: TopicPartitionsById = new Map();
  const n = count(r);
  for (let i = 0; i < n; i++) {
    const id = uuidHex(r.uuid());
    const k = count(r);
    const list: number[] = [];
    for (let j = 0; j < k; j++) list.push(r.int32());
    const tag0 = r.unknownTagSection()?.find((t) => t.tag === 0);
    if (epochs !== undefined && tag0 !== undefined) {
      const tr = new Reader(tag0.data);
      const m = tr.compactArrayLength(true);
      if (m === list.length) {
        const e = new Map<number, number>();
        for (let j = 0; j < m; j++) e.set(list[j], tr.int32());
        epochs.set(id, e);
      }
    }
    if (list.length > 0) out.set(id, new Set(list));
  }
  return out;
}

/** Decodes the value of a consumer group record of `type`. */
export function decodeConsumerGroupValue(type: number, value: Uint8Array): ConsumerGroupValue {
  const r = new Reader(value);
  const version = r.int16();
  if (version !== 0) throw new MalformedFrameError(`unknown value version ${version} of consumer group record type ${type}`, 0);
  switch (type) {
    case 3: {
      const epoch = r.int32();
      r.unknownTagSection();
      return { type, epoch };
    }
    case 4: {
      const topics: TopicMetadataRecord[] = [];
      const n = count(r);
      for (let i = 0; i < n; i++) {
        const idHex = uuidHex(r.uuid());
        const name = r.compactString(false)!;
        const numPartitions = r.int32();
        const racks = count(r);
        for (let j = 0; j < racks; j++) {
          r.int32();
          const k = count(r);
          for (let x = 0; x < k; x++) r.compactString(false);
          r.unknownTagSection();
        }
        r.unknownTagSection();
        topics.push({ idHex, name, numPartitions });
      }
      r.unknownTagSection();
      return { type, topics };
    }
    case 5: {
      const instanceId = r.compactString(true);
      const rackId = r.compactString(true);
      const clientId = r.compactString(false)!;
      const clientHost = r.compactString(false)!;
      const names: string[] = [];
      const n = count(r);
      for (let i = 0; i < n; i++) names.push(r.compactString(false)!);
      const subscribedTopicRegex = r.compactString(true);
      const rebalanceTimeoutMs = r.int32();
      const serverAssignor = r.compactString(true);
      const tag0 = r.unknownTagSection()?.find((t) => t.tag === 0);
      const classic = tag0 === undefined ? null : decodeClassicMetadata(tag0.data);
      return { type, member: { instanceId, rackId, clientId, clientHost, subscribedTopicNames: names, subscribedTopicRegex, rebalanceTimeoutMs, serverAssignor, classic } };
    }
    case 6: {
      const assignmentEpoch = r.int32();
      r.unknownTagSection();
      return { type, assignmentEpoch };
    }
    case 7: {
      const partitions = readTopicPartitions(r);
      r.unknownTagSection();
      return { type, partitions };
    }
    case 16: {
      const topics: string[] = [];
      const n = count(r);
      for (let i = 0; i < n; i++) topics.push(r.compactString(false)!);
      const version = r.int64();
      const timestamp = Number(r.int64());
      r.unknownTagSection();
      return { type, topics, version, timestamp };
    }
    case 8: {
      const memberEpoch = r.int32();
      const previousMemberEpoch = r.int32();
      const state = r.int8();
      const assignmentEpochs: AssignmentEpochs = new Map();
      const assigned = readTopicPartitions(r, assignmentEpochs);
      const pendingRevocation = readTopicPartitions(r);
      r.unknownTagSection();
      return { type, assignment: { memberEpoch, previousMemberEpoch, state, assigned, pendingRevocation, assignmentEpochs } };
    }
    default:
      throw new MalformedFrameError(`unknown consumer group record type ${type}`, 0);
  }
}
