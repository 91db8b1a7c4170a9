import { test } from "node:test";
import { startTestBroker } from "./support/broker.ts";
import { RawClient } from "./support/raw-client.ts";
test("dbg", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("sar-a", 2, 1, {}, false);
    for (const g of ["sar-g", "g1", "g2", "g3"]) {
      const f = await c.requestWhileCoordinatorLoads(10, 4, { keyType: 0, coordinatorKeys: [g] }, (r) => r.coordinators[0].errorCode);
      const r = await c.requestWhileCoordinatorLoads(8, 8, { groupId: g, generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null, topics: [{ name: "sar-a", partitions: [{ partitionIndex: 0, committedOffset: 4n, committedLeaderEpoch: -1, committedMetadata: "x" }] }] }, (r) => r.topics[0].partitions[0].errorCode);
      console.log(g, "commit", r.topics[0].partitions[0].errorCode);
    }
    for (const v of [0, 2, 4, 5]) console.log("ListGroups v" + v, JSON.stringify(await c.request(16, v, { statesFilter: [], typesFilter: [] }), (k, x) => typeof x === "bigint" ? String(x) : x));
  } finally { c.close(); await b.stop(); }
});
