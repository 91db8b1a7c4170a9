/**
 * Test support for KIP-848 consumer groups: a coordinator on a ManualClock over an in-memory `__consumer_offsets`
 * with a topic table tests can grow, and a heartbeat builder with the Java client's defaults.
 */
import { uuidFromHex, uuidHex } from "../../src/protocol/uuid.ts";
import type { GroupConfig } from "../../src/group/group-config.ts";
import { RecordCursor } from "../../src/protocol/record-batch.ts";
import { decodeConsumerGroupKey, isConsumerGroupRecordType } from "../../src/group/consumer-group-records.ts";
import type { ConsumerGroupHeartbeatInput, ConsumerGroupHeartbeatOutcome, TopicMetadataSource } from "../../src/group/consumer-group-coordinator.ts";
import { harness, type Harness } from "./coordinator-harness.ts";

/** Topics known to the coordinator; `create` bumps the metadata version as the broker does. */
export class TopicTable implements TopicMetadataSource {
  private v = 0;
  private readonly byName = new Map<string, { idHex: string; numPartitions: number }>();
  /** Creates (or grows) a topic; returns its id hex. */
  create(name: string, numPartitions: number): string {
    const old = this.byName.get(name);
    const idHex = old?.idHex ?? uuidHex(crypto.getRandomValues(new Uint8Array(16)));
    this.byName.set(name, { idHex, numPartitions });
    this.v++;
    return idHex;
  }
  version(): number {
    return this.v;
  }
  topic(name: string) {
    return this.byName.get(name);
  }
  topicName(idHex: string): string | undefined {
    for (const [n, t] of this.byName) if (t.idHex === idHex) return n;
    return undefined;
  }
  topicNames(): Iterable<string> {
    return this.byName.keys();
  }
}

/** A KIP-848 harness: the classic harness plus a topic table. */
export interface ConsumerHarness extends Harness {
  topics: TopicTable;
}

/** Builds a coordinator with `topics` (name -> partitions) created. */
export function consumerHarness(topics: Record<string, number> = { t: 6 }, overrides: Partial<GroupConfig> = {}, groupConfigs?: Record<string, Record<string, string>>): ConsumerHarness {
  const table = new TopicTable();
  for (const [n, p] of Object.entries(topics)) table.create(n, p);
  return Object.assign(harness(overrides, table, (id) => groupConfigs?.[id] ?? {}), { topics: table });
}

/** Every record stored in the harness's `__consumer_offsets`, in order: key version, decoded key, value or null. */
export function storedRecords(h: Harness): { type: number; group: string; member: string | null; value: Uint8Array | null }[] {
  const out: { type: number; group: string; member: string | null; value: Uint8Array | null }[] = [];
  const c = new RecordCursor();
  for (const part of h.storage.partitions) {
    for (const b of part) {
      c.resetBatch(b.bytes, 0, b.bytes.length);
      while (c.next()) {
        const key = c.key()!;
        const type = new DataView(key.buffer, key.byteOffset).getInt16(0);
        if (!isConsumerGroupRecordType(type)) continue;
        const k = decodeConsumerGroupKey(key);
        const v = c.value();
        out.push({ type, group: k.group, member: k.member, value: v === null ? null : v.slice() });
      }
    }
  }
  return out;
}

/** A heartbeat with defaults: v1, epoch 0 join subscribing to `t`. */
export function hb(groupId: string, memberId: string, over: Partial<ConsumerGroupHeartbeatInput> = {}): ConsumerGroupHeartbeatInput {
  const epoch = over.memberEpoch ?? 0;
  return {
    groupId,
    memberId,
    memberEpoch: epoch,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: epoch === 0 ? 300_000 : -1,
    subscribedTopicNames: epoch === 0 ? ["t"] : null,
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: epoch === 0 ? [] : null,
    clientId: "client",
    clientHost: "/127.0.0.1",
    apiVersion: 1,
    ...over,
  };
}

/** The owned-partitions field of a heartbeat for partitions of topic ids. */
export function owned(parts: Record<string, number[]>): ConsumerGroupHeartbeatInput["topicPartitions"] {
  return Object.entries(parts).map(([idHex, partitions]) => ({ topicId: uuidFromHex(idHex), partitions }));
}

/** An outcome's assignment as "topicIdHex" -> sorted partitions (null when absent). */
export function assigned(r: ConsumerGroupHeartbeatOutcome): Record<string, number[]> | null {
  if (r.assignment === null) return null;
  const out: Record<string, number[]> = {};
  for (const t of r.assignment) out[uuidHex(t.topicId)] = [...t.partitions].sort((a, b) => a - b);
  return out;
}

/** Number of partitions in an outcome's assignment. */
export function countAssigned(r: ConsumerGroupHeartbeatOutcome): number {
  let n = 0;
  for (const t of r.assignment ?? []) n += t.partitions.length;
  return n;
}
