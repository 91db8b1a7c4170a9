/**
 * Producer ids are unique across the brokers of a cluster: each broker reserves its blocks of ids in etcd (Kafka's
 * AllocateProducerIds), so idempotent producers that ask different brokers never share an id. (Sharing one made a
 * producer's batches look like duplicates of another's: the leader acknowledged them without writing them.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ETCD_SKIP_REASON } from "../support/etcd.ts";
import { startCluster } from "../support/cluster-processes.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode, errorName } from "../../src/protocol/errors.ts";

const skip = ETCD_SKIP_REASON;

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
  } finally {
    await cluster.close();
  }
});
