/**
 * Runnel's own client (used by the CLI and between brokers) over secured listeners: SASL_SSL with SCRAM-SHA-512
 * (the server's final signature checked), SASL_PLAINTEXT with PLAIN, and SSL with a client certificate (mTLS):
 * produce, then consume in a group. A wrong password fails with SASL_AUTHENTICATION_FAILED.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { Producer } from "../../src/client/producer.ts";
import { Consumer } from "../../src/client/consumer.ts";
import { Admin } from "../../src/client/admin.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import type { ConnectionOptions } from "../../src/client/connection.ts";
import { certSkip, startSecureBroker } from "./test-certs.ts";

test("Runnel's client: SCRAM over TLS, PLAIN, and mTLS round trips in a group; a wrong password refused", { skip: certSkip, timeout: 120_000 }, async () => {
  const secure = await startSecureBroker((c) => ({
    listeners: "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
    "ssl.keystore.location": c.serverKeystore,
    "listener.name.ssl.ssl.truststore.location": c.caCert,
    "listener.name.ssl.ssl.client.auth": "required",
    "listener.name.sasl_plaintext.plain.sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule required user_hank="hank-pw";',
  }), [["ivy", "ivy-pw", "SCRAM-SHA-512"]]);
  const b = secure.broker.broker;
  const ca = fs.readFileSync(secure.certs.caCert, "utf8");
  try {
    const cases: Array<[string, ConnectionOptions]> = [
      ["SASL_SSL", { tls: { ca }, sasl: { mechanism: "SCRAM-SHA-512", username: "ivy", password: "ivy-pw" } }],
      ["SASL_PLAINTEXT", { sasl: { mechanism: "PLAIN", username: "hank", password: "hank-pw" } }],
      ["SSL", { tls: { ca, cert: fs.readFileSync(secure.certs.clientCert, "utf8"), key: fs.readFileSync(secure.certs.clientKey, "utf8") } }],
    ];
    for (const [listener, security] of cases) {
      const bootstrap = `127.0.0.1:${b.listenerPort(listener)}`;
      const topic = `own-${listener.toLowerCase()}`;
      const admin = new Admin({ bootstrap, ...security });
      await admin.connect();
      await admin.createTopics([{ name: topic, numPartitions: 1 }]);
      await admin.close();
      const producer = new Producer({ bootstrap, lingerMs: 0, ...security });
      await producer.connect();
      for (let i = 0; i < 10; i++) await producer.send({ topic, value: `${listener}-${i}` });
      await producer.close();
      const consumer = new Consumer({ bootstrap, groupId: `${topic}-g`, autoOffsetReset: "earliest", ...security });
      await consumer.connect();
      consumer.subscribe([topic]);
      const got: string[] = [];
      for (let i = 0; i < 100 && got.length < 10; i++) for (const r of await consumer.poll(500)) got.push(new TextDecoder().decode(r.value as Uint8Array));
      await consumer.close();
      assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => `${listener}-${i}`), listener);
    }
    const bad = new Admin({ bootstrap: `127.0.0.1:${b.listenerPort("SASL_SSL")}`, tls: { ca }, sasl: { mechanism: "SCRAM-SHA-512", username: "ivy", password: "nope" } });
    await assert.rejects(bad.connect(), (e) => (e instanceof KafkaError && e.code === ErrorCode.SASL_AUTHENTICATION_FAILED) || /SASL_AUTHENTICATION_FAILED|authentication/i.test(String(e)));
    await bad.close();
  } finally {
    await secure.stop();
  }
});
