/**
 * librdkafka (kcat and confluent-kafka-python) over secured listeners: SSL with client certificates (mTLS,
 * `ssl.client.auth=required`) produce and consume in a group, refused without a certificate or with one from an
 * untrusted CA; a plaintext client on the TLS port is closed while TLS clients carry on; SASL_PLAINTEXT with PLAIN
 * and SASL_SSL with SCRAM-SHA-512 round trips including a consumer group with committed offsets.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import type { TestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { PYTHON, haveCommand, havePythonModule, runProc } from "../support/proc.ts";
import { certSkip, startSecureBroker, type SecureBroker, type TestCerts } from "./test-certs.ts";

const kcatSkip = certSkip || (haveCommand("kcat") ? false : "kcat is not installed (tests/setup.sh installs it as root)");
const pySkip = certSkip || ((await havePythonModule("confluent_kafka")) ? false : "python module confluent_kafka is not installed (tests/setup.sh installs it as root)");
const PLAIN_JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret-1";';
let b: TestBroker;
let certs: TestCerts;
let secure: SecureBroker;
let logLines: string[];

before(async () => {
  if (certSkip) return;
  secure = await startSecureBroker((c) => ({
    listeners: "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
    "ssl.keystore.location": c.serverKeystore,
    "listener.name.ssl.ssl.truststore.location": c.caCert,
    "listener.name.ssl.ssl.client.auth": "required",
    "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
    "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512",
  }), [["dave", "dave-scram-pw-4", "SCRAM-SHA-512"]]);
  ({ broker: b, certs, logLines } = secure);
});

after(() => secure?.stop());

const at = (name: string) => `127.0.0.1:${b.broker.listenerPort(name)}`;
const mtls = () => ["-X", "security.protocol=ssl", "-X", `ssl.ca.location=${certs.caCert}`, "-X", `ssl.certificate.location=${certs.clientCert}`, "-X", `ssl.key.location=${certs.clientKey}`];

async function kcatRoundTrip(bootstrap: string, sec: string[], topic: string): Promise<void> {
  await b.broker.createTopic(topic, 1, 1, {}, false);
  const lines = Array.from({ length: 50 }, (_, i) => `k${i}:v${i}`).join("\n") + "\n";
  const prod = await runProc("kcat", ["-P", "-b", bootstrap, "-t", topic, "-K", ":", "-X", "acks=all", ...sec], { input: lines, timeoutMs: 60_000 });
  assert.equal(prod.code, 0, prod.stderr);
  const cons = await runProc("kcat", ["-b", bootstrap, "-G", `${topic}-group`, "-c", "50", "-f", "%k=%s\n", "-X", "auto.offset.reset=earliest", ...sec, topic], { timeoutMs: 60_000 });
  assert.equal(cons.code, 0, cons.stderr);
  const got = cons.stdout.split("\n").filter((l) => l !== "").sort();
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => `k${i}=v${i}`).sort());
}

test("kcat over SSL with a client certificate (mTLS): produce and consume in a group", { skip: kcatSkip, timeout: 120_000 }, async () => {
  await kcatRoundTrip(at("SSL"), mtls(), "mtls");
  const md = await runProc("kcat", ["-L", "-b", at("SSL"), ...mtls()], { timeoutMs: 30_000 });
  assert.match(md.stdout, new RegExp(`broker 1 at ${at("SSL")}`), "Metadata advertises the SSL listener to SSL clients");
});

test("mTLS: no certificate or an untrusted one is refused; a plaintext client on the TLS port is closed, others unaffected", { skip: kcatSkip, timeout: 120_000 }, async () => {
  const noCert = await runProc("kcat", ["-L", "-b", at("SSL"), "-X", "security.protocol=ssl", "-X", `ssl.ca.location=${certs.caCert}`, "-m", "3"], { timeoutMs: 30_000 });
  assert.notEqual(noCert.code, 0);
  const rogue = await runProc("kcat", ["-L", "-b", at("SSL"), "-X", "security.protocol=ssl", "-X", `ssl.ca.location=${certs.caCert}`, "-X", `ssl.certificate.location=${certs.rogueCert}`, "-X", `ssl.key.location=${certs.rogueKey}`, "-m", "3"], { timeoutMs: 30_000 });
  assert.notEqual(rogue.code, 0);
  const plain = await RawClient.connect(b.broker.listenerPort("SSL"));
  await assert.rejects(plain.request(18, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" }), /connection closed/);
  assert.ok(logLines.some((l) => /Failed authentication with .* on listener SSL \(SSL handshake failed/.test(l)));
  const ok = await runProc("kcat", ["-L", "-b", at("SSL"), ...mtls()], { timeoutMs: 30_000 });
  assert.equal(ok.code, 0, ok.stderr);
});

test("kcat over SASL_PLAINTEXT with PLAIN: produce and consume in a group; a wrong password is refused", { skip: kcatSkip, timeout: 120_000 }, async () => {
  const sasl = ["-X", "security.protocol=sasl_plaintext", "-X", "sasl.mechanism=PLAIN", "-X", "sasl.username=alice"];
  await kcatRoundTrip(at("SASL_PLAINTEXT"), [...sasl, "-X", "sasl.password=alice-secret-1"], "plain-kcat");
  const bad = await runProc("kcat", ["-L", "-b", at("SASL_PLAINTEXT"), ...sasl, "-X", "sasl.password=wrong", "-m", "3"], { timeoutMs: 30_000 });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Authentication failed/);
});

test("confluent-kafka over SASL_SSL with SCRAM-SHA-512: produce, consume in a group, commit", { skip: pySkip, timeout: 120_000 }, async () => {
  const topic = "scram-py";
  await b.broker.createTopic(topic, 1, 1, {}, false);
  const conf = { "bootstrap.servers": at("SASL_SSL"), "security.protocol": "SASL_SSL", "ssl.ca.location": certs.caCert, "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "dave", "sasl.password": "dave-scram-pw-4" };
  const r = await runProc(PYTHON, [path.join(import.meta.dirname, "py_secure_roundtrip.py"), JSON.stringify(conf), topic, "200"], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr.slice(-2000)}`);
  const summary = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.deepEqual(summary, { ok: true, records: 200, committed: 200 });
  assert.ok(logLines.some((l) => l.includes("authenticated User:dave") && l.includes("SCRAM-SHA-512")));
  assert.ok(!logLines.some((l) => l.includes("dave-scram-pw-4")));
});
