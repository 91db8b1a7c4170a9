/**
 * `producer.id.expiration.ms` is a dynamic broker config in Kafka (KIP-854, cluster-wide): a change by
 * IncrementalAlterConfigs reaches partitions already open (their KIP-890 joining guards expire after the new value)
 * and partitions opened afterwards; a value below 1 is refused.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { IN_PROCESS } from "../support/group-state.ts";
import { RawClient } from "../support/raw-client.ts";

const BROKER = 4, SET = 0;

/** Waits (up to `ms`) until the producer's later batch is no longer held back by its joining guard. */
async function guardExpires(check: () => unknown, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if ((check() as { kind: string }).kind === "append") return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

test("a dynamic producer.id.expiration.ms reaches open and newly opened partitions; below 1 refused", { skip: !IN_PROCESS && "reads partitions of an in-process broker", timeout: 60_000 }, async () => {
  const b = await startTestBroker({ "node.id": "1" });
  const c = await RawClient.connect(b.port);
  try {
    const create = (name: string) => c.request(19, 7, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    await create("open-before");
    const alter = async (value: string) => (await c.request(44, 1, { resources: [{ resourceType: BROKER, resourceName: "", configs: [{ name: "producer.id.expiration.ms", configOperation: SET, value }] }], validateOnly: false })).responses[0].errorCode;
    assert.equal(await alter("0"), 42, "below 1 is refused (INVALID_REQUEST)");
    assert.equal(await alter("100"), 0);
    await create("open-after");
    for (const name of ["open-before", "open-after"]) {
      const producers = b.broker.topicsByName.get(name)!.partitions[0].producers;
      producers.startJoining(7n, 0, 2);
      assert.equal(producers.check(7n, 0, 5, 1).kind, "error", `${name}: the guard holds at first`);
      // Without the change the guard lasts the static default (1 day) and this waits in vain.
      assert.ok(await guardExpires(() => producers.check(7n, 0, 5, 1), 15_000), `${name}: the guard expired after the dynamic 100 ms`);
    }
  } finally {
    c.close();
    await b.stop();
  }
});
