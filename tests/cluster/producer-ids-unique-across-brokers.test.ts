/**
 * Producer ids are unique across the brokers of a cluster: each broker reserves its blocks of ids in etcd (Kafka's
 * AllocateProducerIds), so idempotent producers that ask different brokers never share an id. (Sharing one made a
 * producer's batches look like duplicates of another's: the leader acknowledged them without writing them.) A broker
 * that handed out ids from its own file before joining a cluster reserves only ids above them; so does a sharded one,
 * whose shards never read that file (the shard host applies its floor).
 */
import { test } from "node:test";
import * as fs from "node:fs";
import * as path from "node:path";
import assert from "node:assert/strict";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster, type TestCluster } from "../support/cluster-processes.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode, errorName } from "../../src/protocol/errors.ts";

const skip = ETCD_SKIP_REASON;

/** A broker whose data dir holds ids handed out before it joined a cluster (single-node file) never reuses them. */
async function keepsIdsOfItsOwnFile(cluster: TestCluster): Promise<void> {
  await cluster.brokers[0].stop("SIGTERM");
  fs.writeFileSync(path.join(cluster.dataDirs[0], "__runnel_producer_ids"), "50000\n");
  const restarted = await cluster.restart(1);
  const c = await RawClient.connect(restarted.port);
  try {
    const r = await c.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    assert.equal(r.errorCode, ErrorCode.NONE, errorName(r.errorCode));
    assert.ok((r.producerId as bigint) >= 50_000n, `producer id ${r.producerId} is above the ids the broker's own file handed out`);
  } finally {
    c.close();
  }
}

test("InitProducerId answered by three brokers of one cluster never gives the same producer id twice", { skip, timeout: 180_000 }, async () => {
  const cluster = await startCluster();
  try {
    const ids: bigint[] = [];
    for (const b of cluster.brokers) {
      const c = await RawClient.connect(b.port);
      try {
        for (let i = 0; i < 3; i++) {
          const r = await c.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
          assert.equal(r.errorCode, ErrorCode.NONE, errorName(r.errorCode));
          ids.push(r.producerId as bigint);
        }
      } finally {
        c.close();
      }
    }
    assert.equal(new Set(ids).size, ids.length, `producer ids ${ids.join(", ")}`);

    await keepsIdsOfItsOwnFile(cluster);
  } finally {
    await cluster.close();
  }
});

test("a sharded broker of a cluster never reuses the ids of its node's own file (its host keeps the file's floor)", { skip, timeout: 180_000 }, async () => {
  const cluster = await startCluster([], (id) => (id === 1 ? ["--shards", "2"] : []));
  try {
    await keepsIdsOfItsOwnFile(cluster);
  } finally {
    await cluster.close();
  }
});
