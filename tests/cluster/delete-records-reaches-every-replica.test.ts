/**
 * DeleteRecords on a three-broker cluster (real processes, one etcd), as in Kafka (KIP-107):
 * - answered once every live follower has moved its log start offset too, so the leader elected after the old one
 *   is SIGKILLed starts its log at the deleted offset (ListOffsets EARLIEST), instead of serving the deleted records
 *   again;
 * - a follower killed before DeleteRecords passed its log end (the answer waits until its registration expires) comes
 *   back below the leader's log start offset: it restarts its log there and rejoins the ISR, instead of retrying an
 *   OFFSET_OUT_OF_RANGE fetch for ever.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { createReplicatedPartition, metadataOf, printBrokerLogs, startCluster, until } from "../support/cluster-processes.ts";
import { requestOnce } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { makeRecordsBatch } from "../storage/batch-fixture.ts";

const TOPIC = "deleted";

/** The partition's leader and ISR in broker `port`'s Metadata (leader -1 when none or not known). */
async function stateAt(port: number): Promise<{ leader: number; isr: number[] }> {
  const md = await metadataOf(port).catch(() => null);
  const p = md?.topics.find((t) => t.name === TOPIC)?.partitions.find((x) => x.partitionIndex === 0);
  return p === undefined || p.errorCode !== 0 ? { leader: -1, isr: [] } : { leader: p.leaderId, isr: [...p.isrNodes] };
}

const ask = requestOnce;

const produce = async (port: number) => (await ask(port, 0, 9, { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: makeRecordsBatch(20, Date.now()) }] }] })).responses[0].partitionResponses[0];
const deleteRecords = async (port: number, offset: bigint) => (await ask(port, 21, 2, { topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, offset }] }], timeoutMs: 30_000 })).topics[0].partitions[0];
const earliest = async (port: number) => (await ask(port, 2, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n }] }] })).topics[0].partitions[0];

test("DeleteRecords reaches every replica: a new leader after SIGKILL starts at the deleted offset, and a follower that was down restarts its log at the leader's log start and rejoins the ISR", { skip: ETCD_SKIP_REASON, timeout: 300_000 }, async () => {
  await initCrc32c();
  const cluster = await startCluster(["-o", "broker.session.timeout.ms=2000", "-o", "replica.lag.time.max.ms=2000"]);
  const { brokers } = cluster;
  const portOf = (id: number) => cluster.brokers[id - 1].port;
  try {
    const first = await createReplicatedPartition(cluster, TOPIC);
    for (let i = 0; i < 5; i++) assert.equal((await produce(portOf(first))).errorCode, ErrorCode.NONE);
    const deleted = await deleteRecords(portOf(first), 60n);
    assert.equal(deleted.errorCode, ErrorCode.NONE);
    assert.equal(deleted.lowWatermark, 60n);

    // the leader dies at once: the one elected next must not serve offsets 0-59 again
    await brokers[first - 1].stop("SIGKILL");
    const others = [1, 2, 3].filter((id) => id !== first);
    let second = -1;
    await until("a new leader", 60_000, async () => {
      second = (await stateAt(portOf(others[0]))).leader;
      return second >= 0 && second !== first;
    });
    const start = await earliest(portOf(second));
    assert.equal(start.errorCode, ErrorCode.NONE);
    assert.equal(start.offset, 60n, `broker ${second}, leader after broker ${first}, starts its log where DeleteRecords put it`);

    // the old leader comes back and catches up; then a follower dies and DeleteRecords passes its log end
    await cluster.restart(first);
    await until("a full ISR again", 60_000, async () => (await stateAt(portOf(second))).isr.length === 3);
    const away = others.find((id) => id !== second)!;
    await brokers[away - 1].stop("SIGKILL");
    for (let i = 0; i < 2; i++) assert.equal((await produce(portOf(second))).errorCode, ErrorCode.NONE);
    const all = await deleteRecords(portOf(second), -1n);
    assert.equal(all.errorCode, ErrorCode.NONE, "answered once the dead follower no longer counts (its registration expired)");
    assert.equal(all.lowWatermark, 140n);
    await cluster.restart(away);
    try {
      await until(`broker ${away} to rejoin the ISR`, 60_000, async () => (await stateAt(portOf(second))).isr.includes(away));
    } catch (e) {
      printBrokerLogs([brokers[away - 1]]);
      throw e;
    }
    assert.equal((await produce(portOf(second))).errorCode, ErrorCode.NONE);
  } finally {
    await cluster.close();
  }
});
