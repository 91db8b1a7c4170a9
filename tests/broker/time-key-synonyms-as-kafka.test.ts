/**
 * DescribeConfigs synonyms of a time key set dynamically, as Kafka 4.4 answers them: once `log.retention.ms` is set
 * on the broker, a topic's `retention.ms` and the broker's `log.retention.ms` list it and then its longer-unit
 * synonyms (`log.retention.hours` with its default 168); before, neither lists the hours. Found by
 * tests/oracle/restart-admin-random-match-kafka (seed -1092255719).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";

test("a dynamically set log.retention.ms is listed with log.retention.hours' default after it, for the broker and a topic's retention.ms", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    await b.broker.createTopic("t", 1, 1, {}, false);
    const node = String(b.broker.nodeId);
    const synonyms = async () => {
      const r = await c.request(32, 4, { resources: [{ resourceType: 4, resourceName: node, configurationKeys: ["log.retention.ms"] }, { resourceType: 2, resourceName: "t", configurationKeys: ["retention.ms"] }], includeSynonyms: true, includeDocumentation: false });
      return r.results.map((res: any) => res.configs[0].synonyms.map((s: any) => `${s.name}=${s.value}@${s.source}`));
    };
    assert.deepEqual(await synonyms(), [[], []], "unset: no synonyms listed");
    const a = await c.request(44, 1, { resources: [{ resourceType: 4, resourceName: node, configs: [{ name: "log.retention.ms", configOperation: 0, value: "86400000" }] }], validateOnly: false });
    assert.equal(a.responses[0].errorCode, 0);
    const set = ["log.retention.ms=86400000@2", "log.retention.hours=168@5"];
    assert.deepEqual(await synonyms(), [set, set]);
  } finally {
    c.close();
    await b.stop();
  }
});
