/**
 * Leader kills under load, for the failover test and bench: an idempotent confluent-kafka producer
 * (/usr/bin/python3, acks=all) sends numbered records to one partition without pause while the partition's leader
 * is SIGKILLed at seeded random moments and restarted each time. Every delivery report is kept (index, offset,
 * wall-clock ms), so a caller can check the read-back against what was acknowledged and measure the time from each
 * kill to the next successful produce.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { Kafka, logLevel } from "kafkajs";
import { SeededRandom } from "../../src/platform/random.ts";
import { PYTHON, signalChild } from "./proc.ts";
import { RawClient } from "./raw-client.ts";
import { until, type TestCluster } from "./cluster-processes.ts";

/** The producer's `topic.metadata.refresh.interval.ms`: how soon, at most, it finds a new leader after the election. */
export const PRODUCER_METADATA_REFRESH_MS = 1000;

/**
 * The producer: sends `v<i>` to partition 0 of argv[2] (bootstrap argv[1]) one record every ~2 ms until SIGTERM,
 * then flushes. Prints `a <i> <offset> <ms>` per acknowledged record, `f <i> <error>` per failed one, `E <fatal>
 * <error>` per client error, and `done <sent>` at the end.
 */
const PRODUCER_PY = `
import signal, sys, time
from confluent_kafka import Producer, KafkaError
sys.stdout.reconfigure(line_buffering=True)
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
def on_error(err):
    print("E %d %s" % (1 if err.fatal() else 0, err.name()))
p = Producer({"bootstrap.servers": sys.argv[1], "enable.idempotence": True, "acks": "all", "linger.ms": 2,
              "message.timeout.ms": 120000, "retry.backoff.ms": 50,
              "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 200, "topic.metadata.refresh.interval.ms": ${PRODUCER_METADATA_REFRESH_MS},
              "queue.buffering.max.messages": 20000, "error_cb": on_error})
def delivered(err, msg):
    if err is None:
        print("a %s %d %d" % (msg.value().decode()[1:], msg.offset(), int(time.time() * 1000)))
    else:
        print("f %s %s" % (msg.value().decode()[1:], err.name()))
i = 0
while not stop:
    try:
        p.produce(sys.argv[2], value=b"v%d" % i, partition=0, on_delivery=delivered)
        i += 1
    except BufferError:
        pass
    p.poll(0.002)
left = p.flush(120)
print("done %d %d" % (i, left))
`;

/** One acknowledged record. */
export interface Ack {
  /** Its index (value `v<index>`). */
  index: number;
  /** The offset the leader gave it. */
  offset: bigint;
  /** Wall-clock ms of its delivery report. */
  atMs: number;
}

/** The running producer and what it reported. */
export class IdempotentProducer {
  /** Acknowledged records, in delivery order. */
  readonly acks: Ack[] = [];
  /** `f` and `E` lines (failed records, client errors). */
  readonly problems: string[] = [];
  private readonly child: ChildProcess;
  private stderr = "";
  private done: string | null = null;
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined = undefined;

  private constructor(child: ChildProcess) {
    this.child = child;
    let rest = "";
    child.stdout!.on("data", (b: Buffer) => {
      const lines = (rest + b.toString()).split("\n");
      rest = lines.pop()!;
      for (const l of lines) this.onLine(l);
    });
    child.stderr!.on("data", (b: Buffer) => (this.stderr += b.toString()));
    this.exited = new Promise((resolve) => child.on("exit", (code) => resolve((this.exitCode = code))));
  }

  /** Throws when the producer process is gone before it was stopped (with its stderr). */
  assertRunning(): void {
    if (this.exitCode !== undefined) throw new Error(`the producer exited with ${this.exitCode}: ${this.stderr}`);
  }

  /** Starts the producer against `bootstrap`, sending to partition 0 of `topic`. */
  static start(bootstrap: string, topic: string): IdempotentProducer {
    return new IdempotentProducer(spawn(PYTHON, ["-c", PRODUCER_PY, bootstrap, topic], { stdio: ["ignore", "pipe", "pipe"] }));
  }

  private onLine(l: string): void {
    const parts = l.split(" ");
    if (parts[0] === "a") this.acks.push({ index: Number(parts[1]), offset: BigInt(parts[2]), atMs: Number(parts[3]) });
    else if (parts[0] === "done") this.done = l;
    else if (l.length > 0) this.problems.push(l);
  }

  /** The first acknowledgement reported after wall-clock `ms` of a record at `offset` or later, or undefined. */
  firstAckAfter(ms: number, offset = 0n): Ack | undefined {
    let first: Ack | undefined;
    for (let i = this.acks.length - 1; i >= 0 && this.acks[i].atMs > ms; i--) if (this.acks[i].offset >= offset) first = this.acks[i];
    return first;
  }

  /** Stops sending, waits for the flush; the `done <sent> <unflushed>` line. */
  async stop(): Promise<string> {
    signalChild(this.child, "SIGTERM");
    const code = await this.exited;
    if (code !== 0 || this.done === null) throw new Error(`producer exited with ${code}: ${this.stderr}`);
    return this.done;
  }

  /** Kills it (cleanup after a failure). */
  kill(): void {
    signalChild(this.child, "SIGKILL");
  }
}

/** Leader, ISR and offline replicas of partition 0 of `topic`, asked of the broker on `port` (null when it does not answer). */
export async function partitionRoles(port: number, topic: string): Promise<{ leader: number; leaderEpoch: number; isr: number[]; offline: number[] } | null> {
  let c: RawClient | null = null;
  try {
    c = await RawClient.connect(port);
    const md = await c.request(3, 12, { topics: [{ name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const p = md.topics[0]?.partitions?.find((x: { partitionIndex: number }) => x.partitionIndex === 0);
    if (p === undefined || p.errorCode !== 0) return null;
    return { leader: p.leaderId, leaderEpoch: p.leaderEpoch, isr: [...p.isrNodes].sort(), offline: [...p.offlineReplicas] };
  } catch {
    return null;
  } finally {
    c?.close();
  }
}

/**
 * Where leader epoch `epoch` starts on its leader on `port` (OffsetForLeaderEpoch for the epoch before it), or null
 * while that broker does not lead in `epoch` yet.
 */
async function epochStartOffset(port: number, topic: string, epoch: number): Promise<bigint | null> {
  const c = await RawClient.connect(port);
  try {
    const r = await c.request(23, 4, { replicaId: -1, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: epoch, leaderEpoch: epoch - 1 }] }] });
    const p = r.topics[0].partitions[0];
    return p.errorCode === 0 ? p.endOffset : null;
  } finally {
    c.close();
  }
}

/** What one kill did. */
export interface KillRound {
  /** The killed leader's node id. */
  killed: number;
  /** Random pause before the kill, ms. */
  delayMs: number;
  /** Kill to the next record acknowledged by the new leader (the first at or past where its epoch starts), ms. */
  failoverMs: number;
  /** Kill to a surviving broker's Metadata naming a new leader (broker side only; polled every 20 ms), ms. */
  electedMs: number;
  /** The new leader. */
  newLeader: number;
  /** The ISR seen right after the next acknowledged record (the controller drops the dead broker with the election). */
  isrAfterKill: number[];
  /** acks=1 records written only to the old leader just before the kill (followers paused), or 0. */
  tailRecords: number;
  /** Offset of the first of them (-1 without). */
  tailBaseOffset: bigint;
  /** The restarted broker's log end offset before its truncation (when it logged one). */
  truncatedFrom: bigint | null;
  /** Its log end offset after the truncation. */
  truncatedTo: bigint | null;
  /** Restart to back in the ISR, ms. */
  rejoinMs: number;
  /** Whether the killed broker was restarted at once (before the failover). */
  quickRestart: boolean;
}

/** Settings of {@link killLeaders}. */
export interface KillOptions {
  /** Topic whose partition 0 the producer writes. */
  topic: string;
  /** Kills. */
  rounds: number;
  /** PRNG seed of the kill moments. */
  seed: number;
  /** Shortest pause before a kill (pauses are drawn in [minDelayMs, maxDelayMs)). */
  minDelayMs: number;
  /** Longest pause before a kill. */
  maxDelayMs: number;
  /** Every `tailEvery`-th round (1-based; 0 never) first pauses the followers and writes acks=1 records to the leader alone. */
  tailEvery: number;
  /** How many acks=1 records such a tail has. */
  tailRecords: number;
  /** Every `quickRestartEvery`-th round but one (rounds 3, 7, ... for 4; never on tail rounds; 0 never) restarts the killed broker at once, not after the failover. */
  quickRestartEvery: number;
  /** Per round progress. */
  log(msg: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How often a survivor's Metadata is asked for the new leader after a kill, ms. */
const ELECTION_POLL_MS = 20;

/** Value prefix of the acks=1 records that only the old leader gets (truncated after its restart). */
export const TAIL_PREFIX = "tail-";
/** Value prefix of the acks=1 record written first on tail rounds (the followers may or may not have it). */
export const WAKE_PREFIX = "wake-";

/** The roles as seen by any live broker (the first that answers). */
async function rolesFromAny(cluster: TestCluster, topic: string, except = -1): Promise<{ leader: number; leaderEpoch: number; isr: number[]; offline: number[] } | null> {
  for (let id = 1; id <= cluster.brokers.length; id++) {
    if (id === except) continue;
    const r = await partitionRoles(cluster.brokers[id - 1].port, topic);
    if (r !== null) return r;
  }
  return null;
}

/**
 * Kills the leader of partition 0 of `opts.topic` `opts.rounds` times while `producer` sends: each round waits for
 * a full ISR and fresh acknowledgements, pauses a seeded random time, (on tail rounds) SIGSTOPs the followers and
 * writes acks=1 records to the leader alone (`wake-<round>`, then `tail-<round>-<i>`), SIGKILLs the leader, waits for the next acknowledged record, restarts
 * the killed broker and waits until it is back in the ISR.
 */
export async function killLeaders(cluster: TestCluster, producer: IdempotentProducer, opts: KillOptions): Promise<KillRound[]> {
  const rng = new SeededRandom(opts.seed);
  const rounds: KillRound[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    const acked = producer.acks.length;
    await until(`a full ISR and new acknowledgements before kill ${round}`, 90_000, async () => {
      producer.assertRunning();
      return (await rolesFromAny(cluster, opts.topic))?.isr.length === 3 && producer.acks.length > acked;
    });
    const delayMs = Math.round(opts.minDelayMs + rng.float() * (opts.maxDelayMs - opts.minDelayMs));
    await sleep(delayMs);
    const roles = (await rolesFromAny(cluster, opts.topic))!;
    const leader = roles.leader;
    const victim = cluster.brokers[leader - 1];
    const followers = [1, 2, 3].filter((id) => id !== leader).map((id) => cluster.brokers[id - 1]);
    let tailRecords = 0;
    let tailBaseOffset = -1n;
    const withTail = opts.tailEvery > 0 && round % opts.tailEvery === 0;
    if (withTail) {
      // The followers stop. A first acks=1 record answers the fetches they had parked at the leader (the answer waits
      // in their socket buffers; stopped, they send no other), so records written after it reach the leader alone:
      // a tail the restarted broker must truncate.
      for (const f of followers) signalChild(f.child, "SIGSTOP");
      const p = new Kafka({ clientId: "tail", brokers: [victim.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).producer({ allowAutoTopicCreation: false });
      await p.connect();
      await sleep(100);
      await p.send({ topic: opts.topic, acks: 1, messages: [{ value: `${WAKE_PREFIX}${round}`, partition: 0 }] });
      await sleep(200);
      const r = await p.send({ topic: opts.topic, acks: 1, messages: Array.from({ length: opts.tailRecords }, (_, j) => ({ value: `${TAIL_PREFIX}${round}-${j}`, partition: 0 })) });
      await p.disconnect();
      tailRecords = opts.tailRecords;
      tailBaseOffset = BigInt(r[0].baseOffset!);
    }
    const quick = !withTail && opts.quickRestartEvery > 0 && round % opts.quickRestartEvery === opts.quickRestartEvery - 1;
    const killedAt = Date.now();
    await victim.stop("SIGKILL");
    if (withTail) for (const f of followers) signalChild(f.child, "SIGCONT");
    // A quick restart begins at once: its registration waits for the killed one's lease to expire, then comes back
    // about when the controller elects a new leader.
    const restartedAt = Date.now();
    const restarting = quick ? cluster.restart(leader) : null;
    restarting?.catch(() => {}); // awaited below
    // Acks reported after the kill may still be the old leader's (answered just before it died): the next
    // successful produce is the first record acknowledged at or past the start of the new leader's epoch.
    let electedMs = -1;
    let epochStart: bigint | null = null;
    await until(`a new leader and an acknowledged record after kill ${round}`, 60_000, async () => {
      producer.assertRunning();
      for (; electedMs < 0; await sleep(ELECTION_POLL_MS)) {
        const r = await partitionRoles(followers[0].port, opts.topic);
        if (r !== null && r.leader >= 0 && r.leader !== leader) electedMs = Date.now() - killedAt;
        else if (Date.now() - killedAt > 60_000) return false;
      }
      if (epochStart === null) {
        const now = await rolesFromAny(cluster, opts.topic, leader);
        if (now === null || now.leader < 0) return false;
        epochStart = await epochStartOffset(cluster.brokers[now.leader - 1].port, opts.topic, now.leaderEpoch);
      }
      return epochStart !== null && producer.firstAckAfter(killedAt, epochStart) !== undefined;
    });
    const failoverMs = producer.firstAckAfter(killedAt, epochStart!)!.atMs - killedAt;
    const after = (await rolesFromAny(cluster, opts.topic, leader))!;
    const backFrom = quick ? restartedAt : Date.now();
    const back = await (restarting ?? cluster.restart(leader));
    await until(`broker ${leader} back in the ISR after kill ${round}`, 90_000, async () => (await partitionRoles(back.port, opts.topic))?.isr.length === 3);
    const rejoinMs = Date.now() - backFrom;
    const cut = new RegExp(`${opts.topic}-0: truncated the log from log end offset (\\d+) to (\\d+)`).exec(back.log());
    rounds.push({ killed: leader, delayMs, failoverMs, electedMs, newLeader: after.leader, isrAfterKill: after.isr, tailRecords, tailBaseOffset, truncatedFrom: cut ? BigInt(cut[1]) : null, truncatedTo: cut ? BigInt(cut[2]) : null, rejoinMs, quickRestart: quick });
    opts.log(`kill ${round}: leader ${leader} SIGKILLed after ${delayMs} ms${withTail ? ` with an acks=1 tail of ${tailRecords} at offset ${tailBaseOffset}` : ""}; new leader ${after.leader} in Metadata after ${electedMs} ms, next acks=all produce after ${failoverMs} ms; ${quick ? "restarted at once" : "restarted"}, back in the ISR after ${rejoinMs} ms${cut ? `; truncated ${cut[1]} -> ${cut[2]}` : ""}`);
  }
  return rounds;
}

/** Median of `xs`. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
