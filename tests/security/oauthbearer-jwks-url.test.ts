/**
 * OAUTHBEARER keys from a JWKS URL (`sasl.oauthbearer.jwks.endpoint.url=http://...`, served by an HTTP server in the
 * test): start-up retries a failing endpoint with backoff (`...retry.backoff.ms`) and then serves kafkajs with an
 * RS256 token signed by key k1; after the endpoint rotates to key k2, a token naming k2 makes the broker load the
 * JWKS again at once (refresh.ms is an hour) and is then accepted, while k1's tokens are refused; a broker with a
 * short `...refresh.ms` loads the JWKS periodically; an endpoint that keeps failing past `...retry.backoff.max.ms`
 * fails start-up, naming the URL. Over https (a broker process trusting the test CA through NODE_EXTRA_CA_CERTS,
 * the runtime's way to add a CA) a kafkajs client with a signed token is accepted.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { waitUntil } from "../transactions/wait-until.ts";
import { startTestBroker } from "../support/broker.ts";
import { startBrokerProcess } from "../support/broker-process.ts";
import { certSkip, makeTestCerts } from "./test-certs.ts";

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");

function sign(claims: object, key: crypto.KeyObject, kid: string): string {
  const input = `${b64({ alg: "RS256", kid, typ: "JWT" })}.${b64(claims)}`;
  return `${input}.${crypto.sign("sha256", Buffer.from(input), key).toString("base64url")}`;
}

/** A JWKS endpoint (https with `tls`): GETs counted per path; `failures` of a path answer 500 until used up (-1: always). */
async function jwksServer(tls?: { key: string; cert: string }) {
  const docs = new Map<string, string>();
  const gets = new Map<string, number>();
  const failures = new Map<string, number>();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const p = req.url ?? "/";
    gets.set(p, (gets.get(p) ?? 0) + 1);
    const f = failures.get(p) ?? 0;
    if (f !== 0 || !docs.has(p)) {
      if (f > 0) failures.set(p, f - 1);
      res.writeHead(500).end("unavailable");
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(docs.get(p));
  };
  const server = tls === undefined ? http.createServer(handler) : https.createServer(tls, handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { docs, gets, failures, url: (p: string) => `${tls === undefined ? "http" : "https"}://127.0.0.1:${port}${p}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const jwk = (key: crypto.KeyObject, kid: string) => JSON.stringify({ keys: [{ ...key.export({ format: "jwk" }), kid, use: "sig", alg: "RS256" }] });

test("JWKS from an http URL: start-up retries, key rotation picked up on an unknown kid, periodic refresh, start fails past the backoff", { timeout: 120_000 }, async () => {
  const srv = await jwksServer();
  const k1 = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const k2 = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  srv.docs.set("/main.json", jwk(k1.publicKey, "k1"));
  srv.failures.set("/main.json", 2);
  const logLines: string[] = [];
  const sasl = (url: string, extra: Record<string, string> = {}) => ({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "OAUTHBEARER",
    "listener.name.sasl_plaintext.sasl.oauthbearer.jwks.endpoint.url": url,
    "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms": "50",
    ...extra,
  });
  const b = await startTestBroker(sasl(srv.url("/main.json"), { "sasl.oauthbearer.jwks.endpoint.refresh.ms": "3600000" }), undefined, logLines);
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: "svc-url", iat: now, exp: now + 600 };
  const client = (token: string) => new Kafka({ clientId: "jwks-url", brokers: [b.bootstrap], sasl: { mechanism: "oauthbearer", oauthBearerProvider: async () => ({ value: token }) }, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const tryConnect = async (token: string) => {
    const admin = client(token).admin();
    try {
      await admin.connect();
      return true;
    } catch {
      return false;
    } finally {
      await admin.disconnect();
    }
  };
  try {
    assert.equal(srv.gets.get("/main.json"), 3, "two failed loads retried before start-up went on");
    assert.ok(logLines.some((l) => /loading the JWKS from .*main\.json failed \(HTTP status 500\); retrying in/.test(l)));

    const kafka = client(sign(claims, k1.privateKey, "k1"));
    const producer = kafka.producer();
    await producer.connect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "jwks-url" }], waitForLeaders: true });
    await admin.disconnect();
    await producer.send({ topic: "jwks-url", messages: [{ value: "signed by k1" }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: "jwks-url-g" });
    await consumer.connect();
    await consumer.subscribe({ topic: "jwks-url", fromBeginning: true });
    const got = await new Promise<string>((resolve, reject) => {
      consumer.run({ eachMessage: async ({ message }) => resolve(message.value!.toString()) }).catch(reject);
    });
    await consumer.disconnect();
    assert.equal(got, "signed by k1");

    // Rotation: the endpoint now has k2 only. A k2 token asks for a load at once; it is accepted once that is done.
    srv.docs.set("/main.json", jwk(k2.publicKey, "k2"));
    const k2Token = sign(claims, k2.privateKey, "k2");
    let accepted = false;
    for (let i = 0; i < 50 && !accepted; i++) {
      accepted = await tryConnect(k2Token);
      if (!accepted) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(accepted, "a token signed by the rotated-in key is accepted");
    assert.ok((srv.gets.get("/main.json") ?? 0) >= 4, "the unknown kid made the broker load the JWKS again");
    assert.equal(await tryConnect(sign(claims, k1.privateKey, "k1")), false, "k1 is gone from the JWKS");
    await waitUntil(() => logLines.some((l) => l.includes("Failed authentication") && l.includes("no JWKS key for kid k1")), 10_000, "the refusal's log line"); // a sharded node logs from its own process

    // A short refresh.ms: the JWKS is loaded again and again without any token asking.
    srv.docs.set("/periodic.json", jwk(k1.publicKey, "k1"));
    const periodic = await startTestBroker(sasl(srv.url("/periodic.json"), { "sasl.oauthbearer.jwks.endpoint.refresh.ms": "100" }));
    try {
      for (let i = 0; i < 100 && (srv.gets.get("/periodic.json") ?? 0) < 4; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok((srv.gets.get("/periodic.json") ?? 0) >= 4, `periodic loads: ${srv.gets.get("/periodic.json")}`);
    } finally {
      await periodic.stop();
    }

    // An endpoint that keeps failing: start-up gives up after retry.backoff.max.ms and names the URL.
    srv.failures.set("/down.json", -1);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-jwks-down-"));
    try {
      await assert.rejects(startTestBroker(sasl(srv.url("/down.json"), { "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms": "400" }), dir), /sasl\.oauthbearer\.jwks\.endpoint\.url=http:\/\/127\.0\.0\.1:\d+\/down\.json: HTTP status 500/);
      assert.ok((srv.gets.get("/down.json") ?? 0) >= 2, "retried before giving up");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await b.stop();
    await srv.close();
  }
});

test("JWKS from an https URL: a broker trusting the endpoint's CA accepts a signed token", { skip: certSkip, timeout: 120_000 }, async () => {
  const certs = makeTestCerts();
  const srv = await jwksServer({ key: fs.readFileSync(certs.serverKey, "utf8"), cert: fs.readFileSync(certs.serverCert, "utf8") });
  const key = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  srv.docs.set("/jwks", jwk(key.publicKey, "k1"));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-jwks-https-"));
  const broker = await startBrokerProcess("bun", ["--data-dir", dir,
    "-o", "listeners=SASL_PLAINTEXT://127.0.0.1:0",
    "-o", "listener.name.sasl_plaintext.sasl.enabled.mechanisms=OAUTHBEARER",
    "-o", `listener.name.sasl_plaintext.sasl.oauthbearer.jwks.endpoint.url=${srv.url("/jwks")}`,
  ], 30_000, { NODE_EXTRA_CA_CERTS: certs.caCert });
  try {
    assert.equal(srv.gets.get("/jwks"), 1);
    const now = Math.floor(Date.now() / 1000);
    const token = sign({ sub: "svc-https", iat: now, exp: now + 600 }, key.privateKey, "k1");
    const admin = new Kafka({ clientId: "jwks-https", brokers: [broker.bootstrap], sasl: { mechanism: "oauthbearer", oauthBearerProvider: async () => ({ value: token }) }, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    await admin.connect();
    assert.ok(Array.isArray(await admin.listTopics()));
    await admin.disconnect();
    assert.match(broker.log(), /authenticated User:svc-https/);
  } finally {
    await broker.stop();
    await srv.close();
    fs.rmSync(dir, { recursive: true, force: true });
    certs.remove();
  }
});
