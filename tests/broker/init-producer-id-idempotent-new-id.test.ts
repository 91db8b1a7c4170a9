/**
 * InitProducerId without a transactional id, as Kafka's coordinator answers it: always a new producer id at epoch 0,
 * also when the producer names its current id and epoch (KIP-360), so that two client sessions never share an id
 * and epoch (the second's batches, numbered from sequence 0 again, would be taken for retries of the first's and
 * dropped); naming only one of id and epoch is INVALID_REQUEST.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

test("idempotent InitProducerId: a new producer id at epoch 0 every time; id without epoch is INVALID_REQUEST", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    const init = (producerId: bigint, producerEpoch: number) => c.request(22, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId, producerEpoch });
    const first = await init(-1n, -1);
    assert.deepEqual([first.errorCode, first.producerEpoch], [ErrorCode.NONE, 0]);
    const again = await init(first.producerId, 0);
    assert.equal(again.errorCode, ErrorCode.NONE);
    assert.notEqual(again.producerId, first.producerId, "a new id, not the same id with a bumped epoch");
    assert.equal(again.producerEpoch, 0);
    const third = await init(-1n, -1);
    assert.ok(![first.producerId, again.producerId].includes(third.producerId));
    assert.equal((await init(first.producerId, -1)).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await init(-1n, 3)).errorCode, ErrorCode.INVALID_REQUEST);
  } finally {
    c.close();
    await b.stop();
  }
});
