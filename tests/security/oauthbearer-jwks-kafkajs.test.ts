/**
 * OAUTHBEARER with signed tokens checked against a JWKS file (`sasl.oauthbearer.jwks.endpoint.url=file://...`):
 * kafkajs with an oauthBearerProvider handing out an RS256 token produces and consumes in a group as the token's
 * `sub`; a token signed by another key, an unsecured one, one for another audience or issuer, and an expired one
 * are refused with SASL_AUTHENTICATION_FAILED.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { startTestBroker } from "../support/broker.ts";
import { waitUntil } from "../transactions/wait-until.ts";

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");

function sign(claims: object, key: crypto.KeyObject, kid: string): string {
  const input = `${b64({ alg: "RS256", kid, typ: "JWT" })}.${b64(claims)}`;
  return `${input}.${crypto.sign("sha256", Buffer.from(input), key).toString("base64url")}`;
}

test("OAUTHBEARER with a JWKS: kafkajs round trip with an RS256 token; forged, unsecured, foreign and expired tokens refused", { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-jwks-"));
  const good = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const rogue = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  fs.writeFileSync(path.join(dir, "jwks.json"), JSON.stringify({ keys: [{ ...good.publicKey.export({ format: "jwk" }), kid: "k1", use: "sig", alg: "RS256" }] }));
  const logLines: string[] = [];
  const b = await startTestBroker({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "OAUTHBEARER",
    "listener.name.sasl_plaintext.sasl.oauthbearer.jwks.endpoint.url": `file://${path.join(dir, "jwks.json")}`,
    "sasl.oauthbearer.expected.audience": "runnel",
    "sasl.oauthbearer.expected.issuer": "https://idp.example",
  }, undefined, logLines);
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: "svc-orders", iss: "https://idp.example", aud: ["runnel"], iat: now, exp: now + 600 };
  const client = (token: string) => new Kafka({ clientId: "jwks", brokers: [b.bootstrap], sasl: { mechanism: "oauthbearer", oauthBearerProvider: async () => ({ value: token }) }, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  try {
    const kafka = client(sign(claims, good.privateKey, "k1"));
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "jwks" }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: "jwks", messages: [{ value: "signed" }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: "jwks-g" });
    await consumer.connect();
    await consumer.subscribe({ topic: "jwks", fromBeginning: true });
    const got = await new Promise<string>((resolve, reject) => {
      consumer.run({ eachMessage: async ({ message }) => resolve(message.value!.toString()) }).catch(reject);
    });
    await consumer.disconnect();
    assert.equal(got, "signed");
    // The line may reach the test after the client's answer (a sharded node logs from its own process).
    await waitUntil(() => logLines.some((l) => l.includes("authenticated User:svc-orders") && l.includes("OAUTHBEARER")), 10_000, "the authentication log line");

    const unsecured = `${b64({ alg: "none" })}.${b64(claims)}.`;
    for (const [token, why] of [
      [sign(claims, rogue.privateKey, "k1"), "bad signature"],
      [unsecured, "unsecured token"],
      [sign({ ...claims, aud: "other" }, good.privateKey, "k1"), "unexpected audience"],
      [sign({ ...claims, iss: "https://evil.example" }, good.privateKey, "k1"), "unexpected issuer"],
      [sign({ ...claims, exp: now - 3600 }, good.privateKey, "k1"), "expired"],
    ] as const) {
      const bad = client(token).admin();
      await assert.rejects(bad.connect(), (e: Error) => /SASL|authentication/i.test(`${e.name} ${e.message}`), why);
      await bad.disconnect();
      await waitUntil(() => logLines.some((l) => l.includes("Failed authentication") && l.includes(why)), 10_000, `the failed authentication line (${why})`);
    }
  } finally {
    await b.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
