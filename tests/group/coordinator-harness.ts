/**
 * Test support for the group coordinator state machine: an in-memory `__consumer_offsets`, a coordinator on a
 * ManualClock, consumer-protocol metadata builders and a helper to observe promises without awaiting them.
 */
import { ManualClock } from "../../src/platform/clock.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { KafkaError } from "../../src/protocol/errors.ts";
import { Writer } from "../../src/protocol/wire.ts";
import { LAST_OFFSET_DELTA_OFFSET, BATCH_LENGTH_OFFSET, LOG_OVERHEAD, dataViewOf } from "../../src/protocol/batch-layout.ts";
import { writeConsumerProtocolSubscription } from "../../src/protocol/generated/data_consumer_protocol_subscription.ts";
import { writeConsumerProtocolAssignment } from "../../src/protocol/generated/data_consumer_protocol_assignment.ts";
import { GroupCoordinator } from "../../src/group/group-coordinator.ts";
import type { JoinGroupInput } from "../../src/group/group-requests.ts";
import type { OffsetsTopicStorage } from "../../src/group/offsets-topic-storage.ts";
import { DEFAULT_GROUP_CONFIG, type GroupConfig } from "../../src/group/group-config.ts";
import type { TopicMetadataSource } from "../../src/group/consumer-group-coordinator.ts";

await initCrc32c();

/** One stored batch with its base offset and record count. */
interface StoredBatch {
  baseOffset: bigint;
  count: number;
  bytes: Uint8Array;
}

/** `__consumer_offsets` in memory: appends assign offsets; `failAppends` makes appends throw. */
export class MemoryOffsetsStorage implements OffsetsTopicStorage {
  /** Batches per partition. */
  readonly partitions: StoredBatch[][] = [];
  /** When set, the next appends throw this error. */
  failAppends: Error | null = null;
  /** When set, appends succeed but durability fails with this error. */
  failDurability: Error | null = null;
  /** Number of append calls. */
  appends = 0;

  partitionCount(): number {
    return this.partitions.length;
  }
  ensureTopic(partitions: number): number {
    while (this.partitions.length < partitions) this.partitions.push([]);
    return this.partitions.length;
  }
  append(partition: number, batches: Uint8Array): Promise<void> {
    if (this.failAppends !== null) throw this.failAppends;
    const log = this.partitions[partition];
    if (log === undefined) throw new KafkaError(3, "no such partition");
    this.appends++;
    const dv = dataViewOf(batches);
    let next = log.length === 0 ? 0n : log[log.length - 1].baseOffset + BigInt(log[log.length - 1].count);
    for (let at = 0; at < batches.length; ) {
      const size = dv.getInt32(at + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD;
      const bytes = batches.slice(at, at + size);
      const count = dv.getInt32(at + LAST_OFFSET_DELTA_OFFSET) + 1;
      dataViewOf(bytes).setBigInt64(0, next);
      log.push({ baseOffset: next, count, bytes });
      next += BigInt(count);
      at += size;
    }
    return this.failDurability !== null ? Promise.reject(this.failDurability) : Promise.resolve();
  }
  read(partition: number, offset: bigint, _maxBytes: number): { chunks: Uint8Array[]; nextOffset: bigint; endOffset: bigint } {
    const log = this.partitions[partition] ?? [];
    const end = log.length === 0 ? 0n : log[log.length - 1].baseOffset + BigInt(log[log.length - 1].count);
    const chunks = log.filter((b) => b.baseOffset >= offset).map((b) => b.bytes);
    return { chunks, nextOffset: chunks.length === 0 ? offset : end, endOffset: end };
  }
  /** Number of records stored in all partitions. */
  recordCount(): number {
    let n = 0;
    for (const p of this.partitions) for (const b of p) n += b.count;
    return n;
  }
}

/** A coordinator on a manual clock with an in-memory offsets topic. */
export interface Harness {
  clock: ManualClock;
  storage: MemoryOffsetsStorage;
  coord: GroupCoordinator;
  config: GroupConfig;
  logs: string[];
  /** A new coordinator over the same storage and clock (a broker restart). */
  restart(): GroupCoordinator;
}

/** Builds a harness; initial rebalance delay 0 and 4 offsets partitions unless overridden; `metadata` for KIP-848 groups. */
export function harness(overrides: Partial<GroupConfig> = {}, metadata?: TopicMetadataSource, groupConfigs?: (groupId: string) => Record<string, string>): Harness {
  const clock = new ManualClock();
  const storage = new MemoryOffsetsStorage();
  const config: GroupConfig = { ...DEFAULT_GROUP_CONFIG, initialRebalanceDelayMs: 0, offsetsTopicPartitions: 4, ...overrides };
  const logs: string[] = [];
  let n = 0;
  const make = () => {
    const c = new GroupCoordinator({
      config,
      clock,
      storage,
      randomId: () => `uuid${++n}`,
      metadata,
      groupConfigs,
      logger: { info: (m) => logs.push(`INFO ${m}`), warn: (m) => logs.push(`WARN ${m}`), error: (m) => logs.push(`ERROR ${m}`) },
    });
    c.load();
    return c;
  };
  const h: Harness = {
    clock,
    storage,
    coord: make(),
    config,
    logs,
    restart() {
      h.coord.stop();
      h.coord = make();
      return h.coord;
    },
  };
  return h;
}

/** Consumer-protocol subscription metadata for `topics` (version 0, or 1 with owned partitions). */
export function subscription(topics: string[], owned?: { topic: string; partitions: number[] }[]): Uint8Array {
  const w = new Writer(256);
  const version = owned === undefined ? 0 : 1;
  w.int16(version);
  writeConsumerProtocolSubscription(w, version, { topics, userData: null, ownedPartitions: owned ?? [] });
  return w.finishContiguous().slice();
}

/** Consumer-protocol assignment bytes. */
export function assignment(parts: { topic: string; partitions: number[] }[]): Uint8Array {
  const w = new Writer(256);
  w.int16(0);
  writeConsumerProtocolAssignment(w, 0, { assignedPartitions: parts, userData: null });
  return w.finishContiguous().slice();
}

/** A JoinGroup input with test defaults (consumer protocol "range", 10 s session, 30 s rebalance, v9). */
export function joinInput(groupId: string, over: Partial<JoinGroupInput> = {}): JoinGroupInput {
  return {
    groupId,
    memberId: "",
    groupInstanceId: null,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: subscription(["t"]) }],
    clientId: "client",
    clientHost: "/127.0.0.1",
    requireKnownMemberId: true,
    supportsSkipAssignment: true,
    ...over,
  };
}

/** A promise's settled value, observable synchronously after {@link flush}. */
export interface Tracked<T> {
  done: boolean;
  value: T | undefined;
}

/** Tracks `p` so tests can check whether it settled yet. */
export function track<T>(p: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { done: false, value: undefined };
  p.then((v) => {
    t.done = true;
    t.value = v;
  });
  return t;
}

/** Lets pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setTimeout(r, 0));
}

/** Advances the clock by `ms` and lets promise callbacks run. */
export async function advance(h: Harness, ms: number): Promise<void> {
  h.clock.advance(ms);
  await flush();
}

/** Joins a dynamic member the v4+ way (MEMBER_ID_REQUIRED, then rejoin); returns the parked second join. */
export async function joinDynamic(h: Harness, groupId: string, over: Partial<JoinGroupInput> = {}) {
  const first = await h.coord.joinGroup(joinInput(groupId, over));
  if (first.errorCode !== 79) throw new Error(`expected MEMBER_ID_REQUIRED, got ${first.errorCode}`);
  return { memberId: first.memberId, join: track(h.coord.joinGroup(joinInput(groupId, { ...over, memberId: first.memberId }))) };
}
