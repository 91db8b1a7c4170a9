/**
 * Client-supplied ids cannot forge or break log lines: a broker process given a group id and an unknown config key
 * full of newlines and terminal escapes writes each event as one line with those characters escaped.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startBrokerProcess } from "../support/broker-process.ts";
import { RawClient } from "../support/raw-client.ts";
import { escapeLogText } from "../../src/broker/log-escape.ts";

test("escapeLogText escapes control characters, line separators and bidi overrides, and nothing else", () => {
  assert.equal(escapeLogText("g\nERROR x\r\x1b[31m\u2028\u202e\x00é ok\t"), "g\\nERROR x\\r\\x1b[31m\\u2028\\u202e\\x00é ok\t");
});

test("a group id with a newline and terminal escapes is logged escaped, on one line", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-logesc-"));
  const evil = "grp\n2026-01-01T00:00:00.000Z ERROR forged line\x1b[2J";
  const b = await startBrokerProcess("bun", ["--port", "0", "--data-dir", dir, "-o", "group.initial.rebalance.delay.ms=0", "-o", "offsets.topic.num.partitions=1"]);
  const c = await RawClient.connect(b.port);
  try {
    const join = (memberId: string) => c.requestWhileCoordinatorLoads(11, 5, {
      groupId: evil, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId: null, protocolType: "consumer",
      protocols: [{ name: "range", metadata: new Uint8Array(0) }],
    }, (r) => r.errorCode);
    await c.findCoordinator(evil, 0);
    const first = await join("");
    assert.equal(first.errorCode, 79, "MEMBER_ID_REQUIRED");
    assert.equal((await join(first.memberId)).errorCode, 0);
    // Wait for the positive event: the group's log line naming it.
    for (let i = 0; i < 200 && !b.log().includes("forged line"); i++) await new Promise((r) => setTimeout(r, 25));
    const log = b.log();
    assert.ok(log.includes("grp\\n2026-01-01T00:00:00.000Z ERROR forged line\\x1b[2J"), log);
    assert.ok(!log.split("\n").some((l) => l.startsWith("2026-01-01T00:00:00.000Z ERROR forged")), "no forged line");
    assert.ok(!log.includes("\x1b"), "no raw escape character reaches the log");
  } finally {
    c.close();
    await b.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
