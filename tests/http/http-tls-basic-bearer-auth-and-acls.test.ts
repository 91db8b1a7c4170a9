/**
 * The HTTP side secured like the Kafka listeners: an `https://` listener with the ssl.* PEM settings (certificates
 * made by openssl in the test), basic auth against the SASL users (a PLAIN JAAS user and a SCRAM-SHA-512 user whose
 * password is checked against the stored salt and iterations), a bearer token, `/metrics` and the probes open to
 * Prometheus and kubelets, and the JSON API authorized with the broker's ACLs as the authenticated principal.
 * Clients: node:https with the test CA, and curl with --cacert.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as https from "node:https";
import * as fs from "node:fs";
import { execFile } from "node:child_process";
import { startHttpTestBroker, secureHttpSettings } from "../support/http-broker.ts";
import { makeTestCerts, certSkip } from "../security/test-certs.ts";
import { haveCommand } from "../support/proc.ts";

const JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_bob="bob-secret";';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** One HTTPS request trusting only `ca`. */
function call(base: string, ca: string, method: string, path: string, auth: string | null, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (auth !== null) headers.authorization = auth;
    if (payload !== undefined) headers["content-type"] = "application/json";
    const req = https.request(`${base}${path}`, { method, ca, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON (the console's HTML, the metrics text)
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
    });
    req.on("error", reject);
    req.end(payload);
  });
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

test("https listener: TLS from ssl.* PEM files, basic auth (PLAIN and SCRAM users) or bearer token, probes open, ACLs as the principal", { skip: certSkip || undefined, timeout: 120_000 }, async () => {
  const certs = makeTestCerts();
  const b = await startHttpTestBroker({
    ...secureHttpSettings(certs.serverKeystore, JAAS),
    "http.authentication.methods": "BASIC,BEARER",
    "http.authentication.bearer.tokens": "ci:ci-token-0123456789",
  });
  try {
    const base = b.url;
    const ca = fs.readFileSync(certs.caCert, "utf8");
    // The SCRAM user, made by the super user through the JSON API (AlterUserScramCredentials): the one successful
    // authentication the metrics count below.
    const carol = await call(base, ca, "POST", "/v1/users", basic("admin", "admin-secret"), { name: "carol", password: "carol-pw", mechanism: "SCRAM-SHA-512", iterations: 8192 });
    assert.equal(carol.status, 201, JSON.stringify(carol.body));

    // Probes and Prometheus scrape without credentials.
    assert.equal((await call(base, ca, "GET", "/v1/health", null)).status, 200);
    assert.equal((await call(base, ca, "GET", "/v1/ready", null)).status, 200);
    const metrics = await call(base, ca, "GET", "/metrics", null);
    assert.equal(metrics.status, 200);
    assert.match(String(metrics.body), /kafka_server_/);

    // No credentials, a wrong password, an unknown user, an unknown token: 401 with a challenge.
    const none = await call(base, ca, "GET", "/v1/topics", null);
    assert.equal(none.status, 401);
    assert.match(String(none.headers["www-authenticate"]), /^Basic realm="Runnel"/);
    assert.equal((await call(base, ca, "GET", "/", null)).status, 401, "the console needs credentials too");
    assert.equal((await call(base, ca, "GET", "/v1/topics", basic("admin", "wrong"))).status, 401);
    assert.equal((await call(base, ca, "GET", "/v1/topics", basic("carol", "wrong"))).status, 401);
    assert.equal((await call(base, ca, "GET", "/v1/topics", basic("nobody", "carol-pw"))).status, 401);
    assert.equal((await call(base, ca, "GET", "/v1/topics", "Bearer not-the-token")).status, 401);
    // Each refusal counts as a failed authentication on listener "http"; the open paths count nothing.
    const counted = String((await call(base, ca, "GET", "/metrics", null)).body);
    assert.match(counted, /^kafka_server_socket_server_metrics_failed_authentication_total\{listener="http"\} 6$/m);
    assert.match(counted, /^kafka_server_socket_server_metrics_successful_authentication_total\{listener="http"\} 1$/m);

    // The PLAIN super user creates a topic through the JSON API; the console page is served to it.
    const created = await call(base, ca, "POST", "/v1/topics", basic("admin", "admin-secret"), { name: "orders", partitions: 2 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const page = await call(base, ca, "GET", "/", basic("admin", "admin-secret"));
    assert.equal(page.status, 200);
    assert.match(String(page.body), /<html/i);

    // A SCRAM user (password recomputed from the stored salt and iterations) and the bearer token authenticate,
    // but without ACLs they see no topics and every state change is refused with 403.
    const carolList = await call(base, ca, "GET", "/v1/topics", basic("carol", "carol-pw"));
    assert.equal(carolList.status, 200);
    assert.deepEqual(carolList.body.topics, [], "no DESCRIBE ACL: the topic is not listed");
    const denied = await call(base, ca, "POST", "/v1/topics", basic("carol", "carol-pw"), { name: "carol-topic" });
    assert.equal(denied.status, 403, JSON.stringify(denied.body));
    assert.equal(denied.body.error, "TOPIC_AUTHORIZATION_FAILED");
    // The node's topics as the super user sees them (ANONYMOUS on its Kafka listener may describe none).
    const topics = async () => (await call(base, ca, "GET", "/v1/topics", basic("admin", "admin-secret"))).body.topics.map((t: { name: string }) => t.name).sort();
    assert.deepEqual(await topics(), ["orders"], "carol-topic was not created");
    const bobDelete = await call(base, ca, "DELETE", "/v1/topics/orders", basic("bob", "bob-secret"));
    assert.equal(bobDelete.status, 403);
    assert.deepEqual(await topics(), ["orders"], "orders was not deleted");
    const ciProduce = await call(base, ca, "POST", "/v1/topics/orders/messages", "Bearer ci-token-0123456789", { key: "k", value: "v" });
    assert.equal(ciProduce.status, 403);
    assert.equal((await call(base, ca, "GET", "/v1/cluster", "Bearer ci-token-0123456789")).body.error, "CLUSTER_AUTHORIZATION_FAILED");

    // An ACL for the principal opens exactly what it allows: CREATE on topics prefixed carol-, WRITE on orders for ci.
    const allow = (principal: string, operation: string, resourceName: string, patternType: string) => ({ resourceType: "TOPIC", resourceName, patternType, principal, host: "*", operation, permission: "ALLOW" });
    for (const acl of [allow("User:carol", "CREATE", "carol-", "PREFIXED"), allow("User:ci", "WRITE", "orders", "LITERAL")]) {
      const made = await call(base, ca, "POST", "/v1/acls", basic("admin", "admin-secret"), acl);
      assert.equal(made.status, 201, JSON.stringify(made.body));
    }
    assert.equal((await call(base, ca, "POST", "/v1/topics", basic("carol", "carol-pw"), { name: "carol-topic" })).status, 201);
    assert.equal((await call(base, ca, "POST", "/v1/topics", basic("carol", "carol-pw"), { name: "other" })).status, 403);
    const produced = await call(base, ca, "POST", "/v1/topics/orders/messages", "Bearer ci-token-0123456789", { key: "k", value: "v" });
    assert.equal(produced.status, 201, JSON.stringify(produced.body));
    assert.equal((await call(base, ca, "GET", "/v1/topics/orders/messages", "Bearer ci-token-0123456789")).status, 403, "WRITE does not give READ");

    // curl, trusting the test CA, with basic auth; a client that does not trust the CA fails the handshake.
    if (haveCommand("curl")) {
      const out = await new Promise<string>((resolve, reject) => execFile("curl", ["-sS", "--cacert", certs.caCert, "-u", "admin:admin-secret", `${base}/v1/topics`], (e, stdout, stderr) => (e ? reject(new Error(`curl failed: ${stderr}`)) : resolve(stdout))));
      assert.deepEqual(JSON.parse(out).topics.map((t: { name: string }) => t.name).sort(), ["carol-topic", "orders"]);
    }
    await assert.rejects(call(base, fs.readFileSync(certs.rogueCert, "utf8"), "GET", "/v1/health", null), /certificate/i);
  } finally {
    await b.stop();
    certs.remove();
  }
});
