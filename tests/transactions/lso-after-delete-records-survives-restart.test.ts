/**
 * A DeleteRecords past the first offset of a transaction still open moves the last stable offset up to the base
 * offset of the batch holding the new log start (Kafka 4.4 turns the log start into offset metadata: here log start 4
 * inside the batch 3-5 gives 3, live and after a restart, checked against Kafka 4.4 by hand), in ListOffsets
 * read_committed and in Fetch, before and after a restart; the transaction's end then moves it on. Found by
 * tests/oracle/restart-random-match-kafka (Kafka 4.4 answered the log start's batch where Runnel answered 0).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { fetchPartition, latestOffset, RawTxnProducer } from "./raw-txn-client.ts";

test("DeleteRecords past an open transaction's start moves the LSO to the log start's batch, also after a restart", { timeout: 120_000 }, async () => {
  let b = await startTestBroker({ "transaction.state.log.num.partitions": "2" });
  const dir = b.dir;
  let c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("lso", 1, 1, {}, false);
    const p = new RawTxnProducer(c, "lso-tx");
    assert.equal(await p.init(), ErrorCode.NONE);
    assert.deepEqual(await p.add("lso", [0]), [ErrorCode.NONE]);
    assert.equal((await p.send("lso", 0, ["a", "b", "c"])).errorCode, ErrorCode.NONE); // offsets 0-2, open
    assert.equal((await p.send("lso", 0, ["d", "e", "f"])).errorCode, ErrorCode.NONE); // offsets 3-5
    assert.equal(await latestOffset(c, "lso", 0, true), 0n, "the open transaction holds the LSO at its start");
    const del = await c.request(21, 2, { topics: [{ name: "lso", partitions: [{ partitionIndex: 0, offset: 4n }] }], timeoutMs: 10000 });
    assert.deepEqual([del.topics[0].partitions[0].errorCode, del.topics[0].partitions[0].lowWatermark], [ErrorCode.NONE, 4n]);
    const seen = async () => {
      const f = await fetchPartition(c, "lso", 0, 4n, true);
      return [await latestOffset(c, "lso", 0, true), f.data.lastStableOffset, f.data.highWatermark];
    };
    assert.deepEqual(await seen(), [3n, 3n, 6n], "LSO = base of the batch holding log start 4 (3), not the transaction's first offset (0)");
    c.close();
    await b.stop({ keepDir: true });
    b = await startTestBroker({ "transaction.state.log.num.partitions": "2" }, dir);
    c = await RawClient.connect(b.port);
    assert.deepEqual(await seen(), [3n, 3n, 6n], "the same after a restart");
    const again = new RawTxnProducer(c, "lso-tx");
    assert.equal(await again.init(), ErrorCode.NONE); // aborts the open transaction
    for (let i = 0; i < 100 && (await latestOffset(c, "lso", 0, true)) !== 7n; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await latestOffset(c, "lso", 0, true), 7n, "the abort marker (offset 6) ends it");
  } finally {
    c.close();
    await b.stop();
  }
});
