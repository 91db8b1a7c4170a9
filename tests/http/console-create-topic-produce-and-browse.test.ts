/**
 * The web console in real headless Chromium: create a topic (seen by kcat), produce a message from the console
 * (read back by kcat with key, value and header), produce with kcat and find the record in the message browser by
 * offset and by key filter; alter a topic config and delete the topic from the console. Saves screenshots of the pages to docs/screenshots/.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { startHttpTestBroker } from "../support/http-broker.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { chromiumSkip, launchChromium } from "../support/chromium.ts";
import { ROOT } from "../support/broker-process.ts";
import { Admin } from "../../src/client/admin.ts";

const skip = chromiumSkip() || (haveCommand("kcat") ? false : "kcat is not installed");
const shot = (name: string) => path.join(ROOT, "docs", "screenshots", `${name}.png`);

test("console: create a topic, produce from the console, find kcat's records by offset and key", { skip, timeout: 180_000 }, async () => {
  const b = await startHttpTestBroker();
  const browser = await launchChromium();
  const page = browser.page;
  try {
    // Create a topic in the console.
    await page.goto(`${b.url}/#/topics`);
    const form = page.locator("[data-testid=create-topic]");
    await form.locator("input[name=name]").fill("console-orders");
    await form.locator("input[name=partitions]").fill("2");
    await form.locator("button[type=submit]").click();
    await page.locator("[data-testid=topics] a", { hasText: "console-orders" }).waitFor();
    const listed = await runProc("kcat", ["-L", "-b", b.bootstrap, "-t", "console-orders"], { timeoutMs: 30_000 });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /topic "console-orders" with 2 partitions/);

    // Produce a message in the console; kcat reads it back.
    await page.goto(`${b.url}/#/messages/console-orders`);
    const produce = page.locator("[data-testid=produce]");
    await produce.locator("select[name=partition]").selectOption("1");
    await produce.locator("input[name=key]").fill("from-console");
    await produce.locator("textarea[name=value]").fill('{"hello":"console","n":1}');
    await produce.locator("textarea[name=headers]").fill("origin=browser");
    await produce.locator("button[type=submit]").click();
    await page.locator("[data-testid=produce-result]", { hasText: "Produced to partition 1 at offset 0." }).waitFor();
    const read = await runProc("kcat", ["-C", "-b", b.bootstrap, "-t", "console-orders", "-p", "1", "-e", "-q", "-f", "%k|%s|%h\n"], { timeoutMs: 30_000 });
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.stdout, 'from-console|{"hello":"console","n":1}|origin=browser\n');

    // Produce with kcat; find a record by offset, then by key filter.
    const lines = Array.from({ length: 20 }, (_, i) => `kc-${i}:{"order":${i},"note":"from kcat"}`);
    const p = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", "console-orders", "-p", "0", "-K:", "-z", "snappy"], { input: lines.join("\n") + "\n", timeoutMs: 30_000 });
    assert.equal(p.code, 0, p.stderr);
    await page.reload();
    const browse = page.locator("[data-testid=browse]");
    await browse.locator("select[name=partition]").selectOption("0");
    await browse.locator("select[name=mode]").selectOption("offset");
    await browse.locator("input[name=start]").fill("7");
    await browse.locator("input[name=limit]").fill("5");
    await browse.locator("button[type=submit]").click();
    const rows = page.locator("[data-testid=records] tbody tr.clickable");
    await rows.first().waitFor();
    assert.equal(await rows.count(), 5);
    assert.deepEqual(await rows.locator("td:nth-child(2)").allInnerTexts(), ["7", "8", "9", "10", "11"]);
    assert.equal(await rows.first().locator("td:nth-child(4)").innerText(), "kc-7");

    await browse.locator("input[name=start]").fill("0");
    await browse.locator("input[name=limit]").fill("50");
    await browse.locator("input[name=keyFilter]").fill("kc-13");
    await browse.locator("button[type=submit]").click();
    await page.getByText("1 record(s)").waitFor();
    assert.equal(await rows.count(), 1);
    await rows.first().click();
    const detail = page.locator("[data-testid=record-detail]");
    await detail.waitFor();
    assert.match(await detail.innerText(), /Offset\s*13/);
    assert.match(await detail.innerText(), /snappy/);
    assert.equal(JSON.parse(await detail.locator("[data-testid=value-view]").innerText()).order, 13, "JSON view");
    await detail.locator("button", { hasText: "hex" }).click();
    assert.match(await detail.locator("[data-testid=value-view]").innerText(), /^00000000  7b 22 6f 72/);
    await detail.locator("button", { hasText: "JSON" }).click();
    await page.screenshot({ path: shot("messages") });

    // A few more topics so the list screenshot looks like a real one.
    for (const t of [{ name: "payments", partitions: 6 }, { name: "user-profiles", partitions: 3, configs: { "cleanup.policy": "compact" } }, { name: "audit-log", partitions: 1, configs: { "retention.ms": "2592000000" } }]) {
      assert.equal((await fetch(`${b.url}/v1/topics`, { method: "POST", body: JSON.stringify(t) })).status, 201);
    }
    await page.goto(`${b.url}/#/topics`);
    await page.locator("[data-testid=topics] a", { hasText: "user-profiles" }).waitFor();
    await page.screenshot({ path: shot("topics") });
    // Alter a config and delete the topic from its page.
    await page.goto(`${b.url}/#/topics/console-orders`);
    await page.locator("[data-testid=topic-configs] tbody tr").first().waitFor();
    const alter = page.locator("[data-testid=alter-config]");
    await alter.locator("select[name=key]").selectOption("retention.ms");
    await alter.locator("input[name=value]").fill("3600000");
    await alter.locator("button[type=submit]").click();
    await page.locator("[data-testid=topic-configs] tr.override", { hasText: "retention.ms" }).waitFor();
    const admin = new Admin({ bootstrap: b.bootstrap });
    await admin.connect();
    try {
      const [entry] = await admin.describeConfigs(2, "console-orders", ["retention.ms"]);
      assert.deepEqual([entry.value, entry.source], ["3600000", 1], "a dynamic topic config");
    } finally {
      await admin.close();
    }
    await page.screenshot({ path: shot("topic") });
    await page.locator("input[name=confirm]").fill("console-orders");
    await page.locator("button.danger", { hasText: "Delete topic" }).click();
    await page.waitForURL(/#\/topics$/);
    const after = await runProc("kcat", ["-L", "-b", b.bootstrap], { timeoutMs: 30_000 });
    assert.equal(after.code, 0, after.stderr);
    assert.doesNotMatch(after.stdout, /console-orders/);
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
    await b.stop();
  }
});
