/**
 * Crash and recovery with several shards (issue 15, docs/sharding.md): a node started with `runnel start --shards N`
 * is SIGKILLed at seeded moments while confluent-kafka producers send with acks=all to partitions owned by different
 * shards. After every restart, each acknowledged record is at its acknowledged offset, also when the node comes back
 * with another shard count (2 -> 3 -> 2) and finally as a plain single node (1 shard), which moves partitions between
 * shards.
 *
 * Replay: RUNNEL_CRASH_SEED=<seed printed by the test>.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startBrokerProcess, type BrokerProcess } from "../support/broker-process.ts";
import { havePythonModule } from "../support/proc.ts";
import { SeededRandom } from "../../src/platform/random.ts";
import { readPartition } from "./read-partition.ts";
import { startAckedProducer } from "./acked-producer.ts";

const SEED = Number(process.env.RUNNEL_CRASH_SEED ?? 15_2026);
/** Shard count of each run that is killed; the run after the last one checks with 1 shard. */
const KILLED_RUNS = [2, 3, 2];
const PARTITIONS = 4;
const VALUE_BYTES = 512;
const TOPIC = "sharded-crash";
const skip = (await havePythonModule("confluent_kafka")) ? false : "python3-confluent-kafka is not installed (tests/setup.d installs it)";

function startNode(dir: string, shards: number): Promise<BrokerProcess> {
  return startBrokerProcess("bun", ["--port", "0", "--data-dir", dir, "--shards", String(shards), "-o", `num.partitions=${PARTITIONS}`], 90_000);
}

/** Every acknowledged (partition, offset) whose record is absent or another one on the node. */
async function lostAcks(b: BrokerProcess, acked: Map<number, string>[]): Promise<string[]> {
  const lost: string[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    if (acked[p].size === 0) continue;
    const present = await readPartition(b.port, TOPIC, p, VALUE_BYTES);
    for (const [offset, key] of acked[p]) if (present.get(offset) !== key) lost.push(`${TOPIC}-${p} offset ${offset}: acknowledged ${key}, found ${present.get(offset) ?? "nothing"}`);
  }
  return lost;
}

test(`SIGKILL of a sharded node during acks=all produce keeps every acknowledged record, across shard counts ${KILLED_RUNS.join(" -> ")} -> 1 (seed ${SEED})`, { skip, timeout: 300_000 }, async () => {
  console.log(`sharded crash seed ${SEED} (replay with RUNNEL_CRASH_SEED=${SEED})`);
  const random = new SeededRandom(SEED);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-sharded-crash-"));
  const acked: Map<number, string>[] = Array.from({ length: PARTITIONS }, () => new Map());
  let b: BrokerProcess | null = null;
  try {
    for (const [round, shards] of KILLED_RUNS.entries()) {
      b = await startNode(dir, shards);
      const node = b;
      assert.deepEqual(await lostAcks(node, acked), [], `after restarting with ${shards} shards (round ${round}, seed ${SEED})`);
      // A changed shard count moved partitions to their new owners (the acknowledged records came back from there).
      if (round > 0 && shards !== KILLED_RUNS[round - 1]) assert.match(node.log(), new RegExp(`\\d+ partition\\(s\\) placed on their shards of ${shards}`));
      // One producer per partition, so both shards take acks=all writes when the kill lands.
      const producers = Array.from({ length: PARTITIONS }, (_, p) => startAckedProducer(node.bootstrap, TOPIC, `r${round}p${p}`, VALUE_BYTES, p));
      try {
        const acks = 20 + Math.floor(random.float() * 80);
        await Promise.all(producers.map((pr) => pr.waitForAcks(acks, 90_000, () => node.log().slice(-3000))));
        await new Promise((r) => setTimeout(r, Math.floor(random.float() * 200)));
        await node.stop("SIGKILL");
      } finally {
        for (const [p, pr] of producers.entries()) for (const [o, k] of await pr.kill()) acked[p].set(o, k);
      }
    }
    b = await startNode(dir, 1);
    assert.deepEqual(await lostAcks(b, acked), [], `after restarting as a single node (seed ${SEED})`);
    const total = acked.reduce((n, m) => n + m.size, 0);
    assert.ok(total >= KILLED_RUNS.length * PARTITIONS * 20, `acknowledged ${total} records`);
    console.log(`${total} acknowledged records over ${KILLED_RUNS.length} kills, all present`);
  } finally {
    await b?.stop("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
