/**
 * `runnel user add|list|remove` and `runnel acl add|list|remove` end to end: a SCRAM user made by the CLI logs in
 * with kcat (librdkafka) over SASL_PLAINTEXT; an ACL added by the CLI makes a topic visible to that user in kcat's
 * metadata and removing it hides the topic again; a removed user can no longer log in.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { runnel } from "./run-cli.ts";

const skip = haveCommand("kcat") ? false : "kcat is not installed (tests/setup.sh installs it as root)";

test("runnel user and acl commands, checked through kcat", { skip, timeout: 180_000 }, async () => {
  const broker = await startTestBroker({
    listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
    "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
    "authorizer.class.name": "runnel",
    "super.users": "User:ANONYMOUS",
  });
  try {
    const b = ["-b", broker.bootstrap];
    await broker.broker.createTopic("visible", 1, 1, {}, false);
    const add = await runnel(["user", "add", "gina", "--password", "gina-pw", "--mechanism", "SCRAM-SHA-256", ...b]);
    assert.equal(add.code, 0, add.stderr);
    const list = await runnel(["user", "list", ...b]);
    assert.match(list.stdout, /gina\s+SCRAM-SHA-256\s+8192/);
    const kcat = (password: string) => runProc("kcat", ["-L", "-b", `127.0.0.1:${broker.broker.listenerPort("SASL_PLAINTEXT")}`, "-X", "security.protocol=sasl_plaintext", "-X", "sasl.mechanism=SCRAM-SHA-256", "-X", "sasl.username=gina", "-X", `sasl.password=${password}`, "-m", "5"], { timeoutMs: 30_000 });
    let md = await kcat("gina-pw");
    assert.equal(md.code, 0, md.stderr);
    assert.doesNotMatch(md.stdout, /topic "visible"/, "no ACL yet: the topic is hidden");

    const aclAdd = await runnel(["acl", "add", "--principal", "User:gina", "--operation", "Describe", "--topic", "vis", "--pattern", "prefixed", ...b]);
    assert.equal(aclAdd.code, 0, aclAdd.stderr);
    const aclList = await runnel(["acl", "list", "--topic", "visible", ...b]);
    assert.match(aclList.stdout, /TOPIC\s+vis\s+PREFIXED\s+User:gina\s+\*\s+DESCRIBE\s+ALLOW/);
    md = await kcat("gina-pw");
    assert.match(md.stdout, /topic "visible"/);

    const aclRemove = await runnel(["acl", "remove", "--topic", "vis", "--pattern", "prefixed", "--principal", "User:gina", ...b]);
    assert.equal(aclRemove.code, 0, aclRemove.stderr);
    assert.match(aclRemove.stdout, /1 ACL\(s\) removed/);
    md = await kcat("gina-pw");
    assert.doesNotMatch(md.stdout, /topic "visible"/);

    const remove = await runnel(["user", "remove", "gina", "--mechanism", "SCRAM-SHA-256", ...b]);
    assert.equal(remove.code, 0, remove.stderr);
    md = await kcat("gina-pw");
    assert.notEqual(md.code, 0);
    const bad = await runnel(["acl", "add", "--principal", "gina", "--operation", "Read", "--topic", "x", ...b]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Invalid principal/);
  } finally {
    await broker.stop();
  }
});
