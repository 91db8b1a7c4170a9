/**
 * OAUTHBEARER with unsecured JWS tokens (Kafka's default validator, for development): kcat (librdkafka's unsecured
 * JWT builder) produces and consumes in a group as the token's `sub`; an expired token, a signed one (not validated
 * here), one without `sub` or without a required scope fail with SASL_AUTHENTICATION_FAILED, logged without the
 * token.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { waitUntil } from "../transactions/wait-until.ts";

const kcatSkip = haveCommand("kcat") ? false : "kcat is not installed (tests/setup.sh installs it as root)";
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
const jws = (claims: object, alg = "none", sig = "") => `${b64({ alg })}.${b64(claims)}.${sig}`;
const message = (token: string) => Buffer.from(`n,,\x01auth=Bearer ${token}\x01\x01`);

test("OAUTHBEARER: kcat round trip with an unsecured token; bad tokens refused", { skip: kcatSkip, timeout: 120_000 }, async () => {
  const logLines: string[] = [];
  const b = await startTestBroker({
    listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
    "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "OAUTHBEARER",
    "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config": 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredValidatorRequiredScope="kafka";',
  }, undefined, logLines);
  try {
    const at = `127.0.0.1:${b.broker.listenerPort("SASL_PLAINTEXT")}`;
    const sec = ["-X", "security.protocol=sasl_plaintext", "-X", "sasl.mechanism=OAUTHBEARER", "-X", "enable.sasl.oauthbearer.unsecure.jwt=true", "-X", "sasl.oauthbearer.config=principal=frank scope=kafka"];
    await b.broker.createTopic("oauth", 1, 1, {}, false);
    const prod = await runProc("kcat", ["-P", "-b", at, "-t", "oauth", ...sec], { input: "a\nb\nc\n", timeoutMs: 60_000 });
    assert.equal(prod.code, 0, prod.stderr);
    const cons = await runProc("kcat", ["-b", at, "-G", "oauth-g", "-c", "3", "-X", "auto.offset.reset=earliest", ...sec, "oauth"], { timeoutMs: 60_000 });
    assert.equal(cons.code, 0, cons.stderr);
    assert.deepEqual(cons.stdout.trim().split("\n"), ["a", "b", "c"]);
    await waitUntil(() => logLines.some((l) => l.includes("authenticated User:frank") && l.includes("OAUTHBEARER")), 10_000, "the authentication line");
    const noScope = await runProc("kcat", ["-L", "-b", at, ...sec.slice(0, -2), "-X", "sasl.oauthbearer.config=principal=frank", "-m", "3"], { timeoutMs: 30_000 });
    assert.notEqual(noScope.code, 0);

    const now = Math.floor(Date.now() / 1000);
    const bad = [
      [jws({ sub: "eve", exp: now - 3600, scope: "kafka" }), "expired"],
      [jws({ sub: "eve", exp: now + 3600, scope: "kafka" }, "RS256", "c2lnbmF0dXJl"), "signed token"],
      [jws({ exp: now + 3600, scope: "kafka" }), "no 'sub' claim"],
      ["not-a-token", "not a JWS"],
    ] as const;
    for (const [token, why] of bad) {
      const c = await RawClient.connect(b.broker.listenerPort("SASL_PLAINTEXT"));
      assert.equal((await c.request(17, 1, { mechanism: "OAUTHBEARER" })).errorCode, 0);
      const r = await c.request(36, 2, { authBytes: message(token) });
      assert.equal(r.errorCode, 58, why);
      await c.closed;
      await waitUntil(() => logLines.some((l) => l.includes("Failed authentication") && l.includes(why)), 10_000, `the failed authentication line (${why})`);
      assert.ok(!logLines.some((l) => l.includes(token)), `the token (${why}) is not logged`);
    }
  } finally {
    await b.stop();
  }
});
