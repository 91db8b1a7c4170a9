/**
 * The CLI's client commands over a secured listener with `--command-config` (Kafka client properties): `runnel
 * topic create`, `produce` and `consume -g` over SASL_SSL with SCRAM-SHA-512 and a PEM truststore; a wrong password
 * fails with a clear error.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { certSkip, startSecureBroker } from "../security/test-certs.ts";
import { runnel } from "./run-cli.ts";

test("runnel topic/produce/consume with --command-config over SASL_SSL", { skip: certSkip, timeout: 120_000 }, async () => {
  const secure = await startSecureBroker((c) => ({ listeners: "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0", "ssl.keystore.location": c.serverKeystore, "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512" }), [["jo", "jo-pw", "SCRAM-SHA-512"]]);
  try {
    const props = (password: string) => {
      const file = path.join(secure.certs.dir, `client-${password}.properties`);
      fs.writeFileSync(file, ["security.protocol=SASL_SSL", "sasl.mechanism=SCRAM-SHA-512", `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="jo" password="${password}";`, `ssl.truststore.location=${secure.certs.caCert}`].join("\n") + "\n");
      return file;
    };
    const b = ["-b", `127.0.0.1:${secure.broker.broker.listenerPort("SASL_SSL")}`, "--command-config", props("jo-pw")];
    const create = await runnel(["topic", "create", "cli-sec", "-p", "1", ...b]);
    assert.equal(create.code, 0, create.stderr);
    const prod = await runnel(["produce", "cli-sec", ...b], { input: "one\ntwo\nthree\n" });
    assert.equal(prod.code, 0, prod.stderr);
    const cons = await runnel(["consume", "cli-sec", "-g", "cli-sec-g", "-n", "3", ...b]);
    assert.equal(cons.code, 0, cons.stderr);
    assert.deepEqual(cons.stdout.trim().split("\n"), ["one", "two", "three"]);
    const bad = await runnel(["topic", "list", "-b", b[1], "--command-config", props("wrong")]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /SASL authentication .* failed|SASL_AUTHENTICATION_FAILED/);
  } finally {
    await secure.stop();
  }
});
