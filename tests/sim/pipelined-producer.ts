/**
 * A simulated idempotent producer that pipelines as real clients do (librdkafka, the Java client with
 * max.in.flight.requests.per.connection=5): up to {@link MAX_IN_FLIGHT} Produce requests for the partition in flight on
 * one connection to its leader, in sequence order, each batch retried with the same epoch and sequence, and the epoch
 * bumped and the unacknowledged batches renumbered from sequence 0 by librdkafka's rules (rdkafka_request.c,
 * rd_kafka_handle_idempotent_Produce_error; rdkafka_idempotence.c, rd_kafka_idemp_drain_done):
 *
 * - A retriable error (no answer, NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT, ...): stop sending,
 *   let every request in flight come back ("drain before retrying"), then send the unacknowledged batches again in
 *   order with the same epoch and sequences (refreshing the leader first).
 * - OUT_OF_ORDER_SEQUENCE_NUMBER for a batch after the first unacknowledged one ("skipped sequence numbers caused by
 *   previous failed request"): drain, bump the epoch locally (an idempotent producer bumps its own epoch), renumber
 *   every unacknowledged batch from sequence 0 and send them again.
 * - OUT_OF_ORDER_SEQUENCE_NUMBER for the first unacknowledged batch ("sequence desynchronization") or before it: a
 *   fatal error; its unacknowledged batches fail and (as an application would) a new producer id takes over.
 * - UNKNOWN_PRODUCER_ID for a first send of the first unacknowledged batch: drain and bump; otherwise fatal.
 * - DUPLICATE_SEQUENCE_NUMBER: delivered (no offset); INVALID_PRODUCER_EPOCH: the batch fails, drain and bump.
 *
 * Batches never time out (message.timeout.ms=0, delivery.timeout.ms=MAX): no batch is given up while it may still be
 * in the log, so no epoch bump ever follows a batch of unknown outcome. What the clients promise then, against a
 * broker that keeps the protocol: every record delivered exactly once and in order. librdkafka bumps after an
 * OUT_OF_ORDER answer because that answer proves the earlier failed batch is not in the leader's log; a broker that
 * answers it without leading the partition (or from a stale state) breaks that proof and the re-sent batches are
 * duplicated — what {@link checkPipelinedProducer} finds.
 */
import { ErrorCode } from "../../src/protocol/errors.ts";
import type { Sim } from "./scheduler.ts";
import { Disconnected, SimKafkaConnection, type SimWire } from "./sim-wire.ts";
import { buildBatch, type ReadRecord } from "./records.ts";

/** Produce requests in flight per partition (Kafka's max.in.flight.requests.per.connection limit for idempotence). */
export const MAX_IN_FLIGHT = 5;

/** A client-side request timeout (ms of simulated time): the connection is closed, as librdkafka's socket timeout. */
const REQUEST_TIMEOUT_MS = 2000;

/** One record the pipelined producer was asked to send. */
export interface PipelinedRecord {
  /** Its unique value (`x<producer>-<n>`). */
  value: string;
  /** Its place in the producer's order. */
  order: number;
  /** The producer session (a new one after each fatal error) it was sent in. */
  session: number;
  /**
   * Re-sent under a new epoch after librdkafka had it as possibly persisted (a send without an answer, or answered
   * REQUEST_TIMED_OUT or NOT_ENOUGH_REPLICAS_AFTER_APPEND): then it may be in the log twice.
   */
  mayDuplicate: boolean;
  /** Whether the producer had it acknowledged. */
  acked: boolean;
  /** The offset the acknowledgement gave (null: unacknowledged, or acknowledged as DUPLICATE_SEQUENCE_NUMBER). */
  offset: bigint | null;
}

/** What the producer needs of the simulated cluster. */
export interface PipelinedProducerSetup {
  sim: Sim;
  /** Index of this producer in the run (its values are `x<index>-<n>`). */
  index: number;
  topic: string;
  /** The wire to each broker by node id. */
  wireOf(node: number): SimWire;
  /** The partition leader per some broker's Metadata; -1 when unknown. */
  leaderOf(): Promise<number>;
  sleep(ms: number, label: string): Promise<void>;
  /** Whether the workload still runs. */
  running(): boolean;
  /** Every record sent, for the checker. */
  records: PipelinedRecord[];
  /** Counters (ackedAll, pipelinedAcked, epochBumps, retries, fatalErrors). */
  stats: Record<string, number>;
  /** Whether broker `node` leads the partition now and its log takes writes (by its own state). */
  leads(node: number): boolean;
  /** Where a sequence verdict from a broker that does not lead the partition is reported. */
  violations: string[];
}

interface Batch {
  records: PipelinedRecord[];
  /** A send of it got an answer after which it may be in the log (librdkafka: MSG_STATUS_POSSIBLY_PERSISTED). */
  possiblyPersisted: boolean;
  epoch: number;
  seq: number;
  sends: number;
  inFlight: boolean;
}

/** Runs the producer until the workload stops. */
export async function runPipelinedProducer(s: PipelinedProducerSetup): Promise<void> {
  const { sim, index, topic } = s;
  const name = `pipelined-${index}`;
  let pid = -1n;
  let epoch = 0;
  let nextSeq = 0;
  let counter = 0;
  let session = 0;
  let burst = 0; // new batches left in the application's current burst
  let pending: Batch[] = []; // unacknowledged, in the producer's order
  let inFlight: { batch: Batch; answer: Promise<any | null>; ledWhenAnswered: boolean }[] = [];
  let drain: "none" | "retry" | "bump" = "none";
  let leader = -1;
  let conn: SimKafkaConnection | null = null;
  let connTo = -1;
  const fatal = (why: string) => {
    // librdkafka raises a fatal error: every unacknowledged message fails (possibly persisted) and the application
    // makes a new producer (a new producer id) for what it sends next.
    s.stats.fatalErrors++;
    sim.trace(`${name} (producer ${pid} epoch ${epoch}): fatal idempotence error: ${why}; ${pending.length} unacknowledged batches failed, a new producer takes over`);
    conn?.close();
    [pid, epoch, nextSeq, pending, inFlight, drain, leader, conn, connTo] = [-1n, 0, 0, [], [], "none", -1, null, -1];
  };

  while (s.running()) {
    if (pid < 0n) {
      const node = await s.leaderOf(); // any live broker answers InitProducerId for an idempotent producer
      const c = node < 0 ? null : SimKafkaConnection.open(s.wireOf(node), name);
      const res = c === null ? null : await timed(sim, c, c.request(22, 4, { transactionalId: null, transactionTimeoutMs: -1, producerId: -1n, producerEpoch: -1 }));
      c?.close();
      if (res !== null && res.errorCode === ErrorCode.NONE) [pid, session] = [res.producerId, session + 1];
      else await s.sleep(50, `${name} init retry`);
      continue;
    }
    if (drain !== "none") {
      if (inFlight.length === 0) {
        if (drain === "bump") {
          epoch++;
          nextSeq = 0;
          for (const b of pending) {
            [b.epoch, b.seq, b.sends] = [epoch, nextSeq, 0];
            if (b.possiblyPersisted) for (const r of b.records) r.mayDuplicate = true;
            nextSeq += b.records.length;
          }
          s.stats.epochBumps++;
          sim.trace(`${name} drained: epoch bumped to ${epoch}, ${pending.length} unacknowledged batches renumbered from 0`);
        }
        drain = "none";
        await s.sleep(20 + sim.int(40), `${name} retry backoff`);
        continue;
      }
    } else {
      if (leader < 0) {
        leader = await s.leaderOf();
        if (leader < 0) {
          await s.sleep(50 + sim.int(50), `${name} no leader`);
          continue;
        }
      }
      if (inFlight.length === 0 && (conn === null || conn.closed || connTo !== leader)) {
        conn?.close();
        conn = SimKafkaConnection.open(s.wireOf(leader), name);
        connTo = leader;
        if (conn === null) {
          leader = -1;
          await s.sleep(20 + sim.int(40), `${name} cannot connect`);
          continue;
        }
      }
      if (inFlight.length < MAX_IN_FLIGHT && conn !== null && !conn.closed) {
        let b = pending.find((x) => !x.inFlight);
        if (b === undefined) {
          const records = Array.from({ length: 1 + sim.int(3) }, () => ({ value: `x${index}-${counter}`, order: counter++, session, mayDuplicate: false, acked: false, offset: null }));
          s.records.push(...records);
          b = { records, possiblyPersisted: false, epoch, seq: nextSeq, sends: 0, inFlight: false };
          nextSeq += records.length;
          pending.push(b);
        }
        const body = { transactionalId: null, acks: -1, timeoutMs: 1500, topicData: [{ name: topic, partitionData: [{ index: 0, records: buildBatch(b.records.map((r) => r.value), sim.clock.nowMs(), { id: pid, epoch: b.epoch, seq: b.seq }) }] }] };
        b.sends++;
        b.inFlight = true;
        const sent = conn.request(0, 9, body).then(
          (r) => r,
          (e) => {
            if (e instanceof Disconnected) return null;
            throw e;
          },
        );
        // Whether the broker led when its answer came (not when this loop reads it: the broker may have died since).
        const entry = { batch: b, answer: sent, ledWhenAnswered: true };
        const to = connTo;
        void sent.then((r) => void (r !== null && (entry.ledWhenAnswered = s.leads(to))), () => {});
        inFlight.push(entry);
        sim.trace(`${name} sent ${b.records[0].value} (epoch ${b.epoch}, sequence ${b.seq}, send ${b.sends}) to ${leader}, ${inFlight.length} in flight`);
        // Batches to send again go at once. The application produces in bursts: within one, a new batch is ready
        // (its linger over) before the oldest answer comes, so the pipeline fills; between bursts it idles.
        if (inFlight.length < MAX_IN_FLIGHT && pending.some((x) => !x.inFlight)) continue;
        if (--burst > 0 && inFlight.length < MAX_IN_FLIGHT) {
          await s.sleep(1 + sim.int(3), `${name} linger`);
          continue;
        }
        if (burst <= 0) {
          burst = 1 + sim.int(MAX_IN_FLIGHT + 2);
          await s.sleep(10 + sim.int(40), `${name} idle`);
          continue;
        }
      }
    }
    // The oldest request's answer (a connection answers in order).
    const head = inFlight.shift()!;
    const res = await timed(sim, conn!, head.answer);
    const b = head.batch;
    b.inFlight = false;
    const r = res?.responses?.[0]?.partitionResponses?.[0];
    const code: number = r === undefined ? -1 : r.errorCode;
    sim.trace(`${name} ${b.records[0].value} (epoch ${b.epoch}, sequence ${b.seq}) from ${connTo}: ${r === undefined ? "no answer" : `error ${code} at ${r.baseOffset}`}`);
    if (b.epoch !== epoch || !pending.includes(b)) continue; // a batch of a producer that ended with a fatal error
    if (code === ErrorCode.NONE || code === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
      pending.splice(pending.indexOf(b), 1);
      b.records.forEach((rec, i) => {
        rec.acked = true;
        rec.offset = code === ErrorCode.NONE ? r.baseOffset + BigInt(i) : null;
      });
      s.stats.ackedAll += b.records.length;
      s.stats.pipelinedAcked += b.records.length;
      continue;
    }
    const firstUnacked = pending[0].seq;
    if ((code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || code === ErrorCode.UNKNOWN_PRODUCER_ID) && !head.ledWhenAnswered) {
      // Kafka's Partition.appendRecordsToLeader checks leadership before the log judges sequences: a broker that does
      // not lead the partition answers NOT_LEADER_OR_FOLLOWER. (Checked when the answer arrives, a few simulated ms
      // after the broker wrote it; the leadership moving in between would be a false alarm. Not when this loop reads
      // it: kafka seed 7 --pipelined read an answer after the broker had died of a failed log dir.)
      s.violations.push(`${name}: broker ${connTo}, which does not lead ${topic}-0 (not its leader, or its log cannot take writes), answered ${code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER ? "OUT_OF_ORDER_SEQUENCE_NUMBER" : "UNKNOWN_PRODUCER_ID"} for ${b.records[0].value} (producer ${pid} epoch ${b.epoch} sequence ${b.seq}) at ${sim.nowMs} ms`);
    }
    if (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) {
      if (b.seq > firstUnacked) drain = "bump";
      else fatal(`OUT_OF_ORDER_SEQUENCE_NUMBER from broker ${connTo} for sequence ${b.seq}, the first unacknowledged is ${firstUnacked}`);
    } else if (code === ErrorCode.UNKNOWN_PRODUCER_ID) {
      if (b.sends === 1 && b.seq === firstUnacked) drain = "bump";
      else fatal(`UNKNOWN_PRODUCER_ID from broker ${connTo} for sequence ${b.seq} (send ${b.sends}, first unacknowledged ${firstUnacked})`);
    } else if (code === ErrorCode.INVALID_PRODUCER_EPOCH) {
      pending.splice(pending.indexOf(b), 1); // failed to the application, not persisted
      drain = "bump";
    } else {
      // Retriable: no answer, not the leader, not enough replicas, timed out... Same epoch and sequence again.
      if (r === undefined || code === ErrorCode.REQUEST_TIMED_OUT || code === ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND) b.possiblyPersisted = true;
      if (drain === "none") drain = "retry";
      s.stats.retries++;
      leader = -1;
      if (r === undefined) conn?.close();
    }
  }
  conn?.close();
}

/** `answer`, or null after the request timeout (the connection is then closed, failing what else is in flight). */
async function timed<T>(sim: Sim, conn: SimKafkaConnection, answer: Promise<T>): Promise<T | null> {
  let late = false;
  const timeout = new Promise<null>((resolve) => sim.after(REQUEST_TIMEOUT_MS, "pipelined request timeout", () => ((late = true), resolve(null))));
  const r = await Promise.race([answer.catch((e) => (e instanceof Disconnected ? null : Promise.reject(e))), timeout]);
  if (r === null && late) conn.close();
  return r;
}

/**
 * What librdkafka and the Java client promise an idempotent producer whose batches never time out, against a broker
 * that keeps the protocol: every acknowledged record is in `log` at its acknowledged offset; no record sent (under
 * any epoch) is in the log twice; one producer id's records are in the log in the order they were produced. (A fatal
 * error is the client's way of keeping that promise, so it is counted, not checked: the application's next producer
 * has a new id.)
 */
export function checkPipelinedProducer(records: readonly PipelinedRecord[], log: readonly ReadRecord[], who: string): string[] {
  const out: string[] = [];
  const sent = new Map(records.map((r) => [r.value, r]));
  const offsetsOf = new Map<string, bigint[]>();
  const at = new Map<bigint, string>();
  const last = new Map<number, { order: number; offset: bigint; value: string }>(); // per session
  for (const r of log) {
    at.set(r.offset, r.value);
    const rec = sent.get(r.value);
    if (rec === undefined) continue;
    const seen = offsetsOf.get(r.value) ?? [];
    seen.push(r.offset);
    offsetsOf.set(r.value, seen);
    if (seen.length > 1 && rec.mayDuplicate) continue; // a copy librdkafka may write again (see below): not an order break
    const prev = last.get(rec.session);
    if (prev !== undefined && rec.order <= prev.order && out.length < 5) out.push(`${who}: ${r.value} at ${r.offset} comes after ${prev.value} at ${prev.offset}, out of the producer's order`);
    last.set(rec.session, { order: rec.order, offset: r.offset, value: r.value });
  }
  for (const r of records) {
    const offsets = offsetsOf.get(r.value) ?? [];
    if (offsets.length > (r.mayDuplicate ? 2 : 1) && out.length < 10) out.push(`${who}: ${r.value} appears ${offsets.length} times (offsets ${offsets.join(", ")}): re-sent under a new epoch after an answer that said it was not written`);
    if (r.acked && r.offset !== null && at.get(r.offset) !== r.value) out.push(`${who}: acknowledged record ${r.value} at offset ${r.offset} is missing (offset holds ${at.get(r.offset) ?? "nothing"})`);
    if (r.acked && offsets.length === 0) out.push(`${who}: acknowledged record ${r.value} is not in the log`);
  }
  return out;
}
