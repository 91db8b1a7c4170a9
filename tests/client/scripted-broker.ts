/**
 * A scripted single-node cluster behind the client's {@link BrokerChannel} seam: answers Metadata, InitProducerId
 * and Produce at the object level (no sockets), keeps produced batches per partition, and lets a test hold
 * responses or inject errors. Used by the producer unit tests with a ManualClock.
 */
import type { BrokerChannel, Dialer, RequestOptions } from "../../src/client/connection.ts";
import { ApiKey } from "../../src/protocol/generated/index.ts";
import type { MetadataResponse } from "../../src/protocol/generated/03_metadata.ts";
import type { ProduceRequest, ProduceResponse } from "../../src/protocol/generated/00_produce.ts";
import { readBatchHeader, type BatchHeader } from "../../src/protocol/record-batch.ts";

/** One Produce request as the scripted broker saw it. */
export interface SeenProduce {
  /** Monotonic time when it arrived (from the test's clock). */
  atMs: number;
  /** acks. */
  acks: number;
  /** Version used. */
  version: number;
  /** The batches, per "topic-partition". */
  batches: { topic: string; partition: number; header: BatchHeader; bytes: Uint8Array }[];
}

/** Decides the error code for a partition of a Produce (NONE to accept). */
export type ProduceScript = (topic: string, partition: number, header: BatchHeader, attempt: number) => number;

/** The scripted cluster. */
export class ScriptedBroker {
  /** Partitions per topic. */
  readonly topics = new Map<string, number>();
  /** Produce requests seen, in order. */
  readonly produces: SeenProduce[] = [];
  /** Metadata requests seen. */
  metadataRequests = 0;
  /** InitProducerId requests seen. */
  initProducerIdRequests = 0;
  /** Error script (default: accept everything). */
  script: ProduceScript = () => 0;
  /** When true, Produce responses wait until {@link ScriptedBroker.release} is called. */
  hold = false;
  /** Leader node id reported for every partition (-1 = none). */
  leader = 1;
  /** Log end offset per "topic-partition". */
  readonly logEnd = new Map<string, bigint>();
  private readonly held: (() => void)[] = [];
  private readonly attempts = new Map<string, number>();
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  /** A dialer that connects to this broker. */
  dialer(): Dialer {
    return (host, port, nodeId) => Promise.resolve(this.channel(`${host}:${port}`, nodeId));
  }

  /** Number of Produce responses being held. */
  get heldCount(): number {
    return this.held.length;
  }

  /** Sends every held Produce response. */
  release(): void {
    const h = this.held.splice(0);
    for (const f of h) f();
  }

  private channel(address: string, nodeId: number): BrokerChannel {
    let inFlight = 0;
    const broker = this;
    return {
      nodeId,
      address,
      closed: false,
      inFlight: () => inFlight,
      close() {},
      version(apiKey: number) {
        return apiKey === ApiKey.Produce ? 12 : apiKey === ApiKey.Metadata ? 12 : apiKey === ApiKey.InitProducerId ? 4 : -1;
      },
      request<T>(apiKey: number, body: unknown, opts: RequestOptions = {}): Promise<T> {
        if (apiKey === ApiKey.Metadata) {
          broker.metadataRequests++;
          return Promise.resolve(broker.metadata() as T);
        }
        if (apiKey === ApiKey.InitProducerId) {
          broker.initProducerIdRequests++;
          return Promise.resolve({ throttleTimeMs: 0, errorCode: 0, producerId: 4242n, producerEpoch: 3 } as T);
        }
        if (apiKey === ApiKey.Produce) {
          const res = broker.produce(body as ProduceRequest, opts.version ?? 12);
          if (opts.noResponse) return Promise.resolve(undefined as T);
          inFlight++;
          return new Promise<T>((resolve) => {
            const send = () => {
              inFlight--;
              resolve(res as T);
            };
            if (broker.hold) broker.held.push(send);
            else queueMicrotask(send);
          });
        }
        return Promise.reject(new Error(`scripted broker does not serve API ${apiKey}`));
      },
    };
  }

  private metadata(): MetadataResponse {
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: 1, host: "scripted", port: 9092, rack: null }],
      clusterId: "scripted",
      controllerId: 1,
      topics: [...this.topics].map(([name, n]) => ({
        errorCode: 0,
        name,
        topicId: new Uint8Array(16).fill(7),
        isInternal: false,
        partitions: Array.from({ length: n }, (_, i) => ({
          errorCode: 0,
          partitionIndex: i,
          leaderId: this.leader,
          leaderEpoch: 0,
          replicaNodes: [1],
          isrNodes: [1],
          offlineReplicas: [],
        })),
      })),
    };
  }

  private produce(req: ProduceRequest, version: number): ProduceResponse {
    const seen: SeenProduce = { atMs: this.now(), acks: req.acks, version, batches: [] };
    const responses: ProduceResponse["responses"] = [];
    for (const t of req.topicData) {
      const name = t.name!;
      const partitionResponses = [];
      for (const p of t.partitionData) {
        const bytes = p.records as Uint8Array;
        const header = readBatchHeader(bytes);
        seen.batches.push({ topic: name, partition: p.index, header, bytes });
        const key = `${name}-${p.index}`;
        const attempt = this.attempts.get(key) ?? 0;
        this.attempts.set(key, attempt + 1);
        const errorCode = this.script(name, p.index, header, attempt);
        let baseOffset = -1n;
        if (errorCode === 0) {
          baseOffset = this.logEnd.get(key) ?? 0n;
          this.logEnd.set(key, baseOffset + BigInt(header.recordsCount));
        }
        partitionResponses.push({ index: p.index, errorCode, baseOffset, logAppendTimeMs: -1n, logStartOffset: 0n, recordErrors: [], errorMessage: null });
      }
      responses.push({ name, partitionResponses });
    }
    this.produces.push(seen);
    return { responses, throttleTimeMs: 0 };
  }
}

/** Lets queued microtasks and promise callbacks run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
