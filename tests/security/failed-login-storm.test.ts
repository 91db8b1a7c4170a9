/**
 * 1,000 failed logins in a row (wrong PLAIN passwords and unknown SCRAM users, each on its own connection) are each
 * answered SASL_AUTHENTICATION_FAILED and closed, while an authenticated client on another connection keeps being
 * served during the storm.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { ScramExchange } from "./scram-client.ts";

const METADATA = { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false };

test("1,000 failed logins do not stop an authenticated client from being served", { timeout: 180_000 }, async () => {
  const b = await startTestBroker({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256",
    "listener.name.sasl_plaintext.plain.sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule required user_ok="ok-pw";',
  });
  try {
    const bystander = await RawClient.connect(b.port);
    assert.equal((await bystander.request(17, 1, { mechanism: "PLAIN" })).errorCode, 0);
    assert.equal((await bystander.request(36, 2, { authBytes: Buffer.from("\0ok\0ok-pw") })).errorCode, 0);
    let stormDone = false;
    let servedDuringStorm = 0;
    const served = (async () => {
      while (!stormDone) {
        const md = await bystander.request(3, 12, METADATA);
        assert.equal(md.brokers.length, 1);
        if (!stormDone) servedDuringStorm++;
      }
    })();
    let failures = 0;
    for (let i = 0; i < 1000; i++) {
      const c = await RawClient.connect(b.port);
      const scram = i % 2 === 1;
      assert.equal((await c.request(17, 1, { mechanism: scram ? "SCRAM-SHA-256" : "PLAIN" })).errorCode, 0);
      const r = await c.request(36, 2, { authBytes: scram ? new ScramExchange("SCRAM-SHA-256", `nobody${i}`, "x").first() : Buffer.from(`\0ok\0wrong${i}`) });
      if (r.errorCode === 58) failures++;
      await c.closed;
    }
    stormDone = true;
    await served;
    assert.equal(failures, 1000);
    assert.ok(servedDuringStorm > 0, "the authenticated client was served while the storm ran");
    assert.equal((await bystander.request(3, 12, METADATA)).brokers.length, 1);
    bystander.close();
  } finally {
    await b.stop();
  }
});
