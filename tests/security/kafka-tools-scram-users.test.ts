/**
 * Kafka's own tools (4.4 jars) against the security features: `kafka-configs --alter --entity-type users
 * --add-config SCRAM-SHA-512=[...]` creates a SCRAM user through AlterUserScramCredentials on the PLAINTEXT
 * listener, then the console producer and a console consumer in a group use it over SASL_SSL (Java's SaslHandshake v1
 * and SaslAuthenticate v2, PEM truststore, hostname verification against the certificate's IP SAN).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { KAFKA_TOOL, javaSkip, startToolSession } from "../support/java.ts";
import { RawClient } from "../support/raw-client.ts";
import { waitUntil } from "../transactions/wait-until.ts";
import { SCRAM_ID } from "./scram-client.ts";
import { certSkip, startSecureBroker } from "./test-certs.ts";

test("kafka-configs adds a SCRAM user; console producer and consumer (group) use it over SASL_SSL", { skip: certSkip || javaSkip, timeout: 240_000 }, async () => {
  const secure = await startSecureBroker((c) => ({
    listeners: "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
    "ssl.keystore.location": c.serverKeystore,
    "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512",
  }));
  const tools = startToolSession();
  try {
    const b = secure.broker;
    const add = await tools.run(KAFKA_TOOL.configs, ["--bootstrap-server", b.bootstrap, "--alter", "--entity-type", "users", "--entity-name", "erin", "--add-config", "SCRAM-SHA-512=[iterations=8192,password=erin-pw-5]"]);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /Completed updating config for user erin/);
    const c = await RawClient.connect(b.port);
    try {
      const described = await c.request(50, 0, { users: [{ name: "erin" }] }); // DescribeUserScramCredentials
      assert.deepEqual(described.results.map((r: { user: string; errorCode: number; credentialInfos: unknown[] }) => [r.user, r.errorCode, r.credentialInfos]), [["erin", 0, [{ mechanism: SCRAM_ID["SCRAM-SHA-512"], iterations: 8192 }]]]);
    } finally {
      c.close();
    }

    const props = path.join(secure.certs.dir, "client.properties");
    fs.writeFileSync(props, [
      "security.protocol=SASL_SSL",
      "sasl.mechanism=SCRAM-SHA-512",
      'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="erin" password="erin-pw-5";',
      "ssl.truststore.type=PEM",
      `ssl.truststore.location=${secure.certs.caCert}`,
    ].join("\n") + "\n");
    const sasl = `127.0.0.1:${b.broker.listenerPort("SASL_SSL")}`;
    await b.broker.createTopic("java-scram", 1, 1, {}, false);
    const prod = await tools.run(KAFKA_TOOL.consoleProducer, ["--bootstrap-server", sasl, "--topic", "java-scram", "--command-config", props], Array.from({ length: 10 }, (_, i) => `m${i}`).join("\n") + "\n");
    assert.equal(prod.code, 0, prod.stderr);
    const cons = await tools.run(KAFKA_TOOL.consoleConsumer, ["--bootstrap-server", sasl, "--topic", "java-scram", "--group", "java-scram-g", "--from-beginning", "--max-messages", "10", "--command-config", props]);
    assert.equal(cons.code, 0, cons.stderr);
    assert.deepEqual(cons.stdout.trim().split("\n"), Array.from({ length: 10 }, (_, i) => `m${i}`));
    await waitUntil(() => secure.logLines.some((l) => l.includes("authenticated User:erin")), 10_000, "the authentication line"); // a sharded node logs from its own process
    assert.ok(!secure.logLines.some((l) => l.includes("erin-pw-5")));
  } finally {
    await tools.close();
    await secure.stop();
  }
});
