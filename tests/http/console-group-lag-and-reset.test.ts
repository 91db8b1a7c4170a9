/**
 * The web console in real headless Chromium: the Overview's throughput chart moves when records are produced; a
 * consumer group's lag (number and chart) goes to 0 as its consumer catches up; its offsets are reset from the
 * console after a dry-run preview, and the lag chart follows. Saves screenshots of the pages to docs/screenshots/.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { startHttpTestBroker } from "../support/http-broker.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { chromiumSkip, launchChromium } from "../support/chromium.ts";
import { ROOT } from "../support/broker-process.ts";
import { Consumer } from "../../src/client/consumer.ts";
import { Admin } from "../../src/client/admin.ts";

const skip = chromiumSkip() || (haveCommand("kcat") ? false : "kcat is not installed");
const shot = (name: string) => path.join(ROOT, "docs", "screenshots", `${name}.png`);
const TOPIC = "payments";
const RECORDS = 200;

test("console: throughput chart updates, group lag goes to 0, offsets reset with a dry run", { skip, timeout: 180_000 }, async () => {
  const b = await startHttpTestBroker();
  const browser = await launchChromium();
  const page = browser.page;
  const consumer = new Consumer({ bootstrap: b.bootstrap, groupId: "billing", clientId: "billing-service", autoOffsetReset: "earliest", enableAutoCommit: false, maxPollRecords: 50 });
  try {
    // Overview: produce while it is open, the produce chart's latest rate leaves 0.
    await page.goto(`${b.url}/#/`);
    await page.locator("[data-testid=topic-count]").waitFor();
    // Four bursts, each after the chart has drawn a new point; kcat reads everything back each time.
    const points = () => page.evaluate(() => Number(document.querySelector("[data-testid='series-in']")?.getAttribute("data-points") ?? "0"));
    let sawRate = false;
    for (let burst = 0; burst < 4; burst++) {
      const before = await points();
      const lines = Array.from({ length: RECORDS / 4 }, (_, i) => `p-${burst * 50 + i}:{"amount":${i},"currency":"EUR"}`);
      const p = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", TOPIC, "-K:"], { input: lines.join("\n") + "\n", timeoutMs: 30_000 });
      assert.equal(p.code, 0, p.stderr);
      const c = await runProc("kcat", ["-C", "-b", b.bootstrap, "-t", TOPIC, "-e", "-q"], { timeoutMs: 30_000 });
      assert.equal(c.code, 0, c.stderr);
      await page.waitForFunction((n) => Number(document.querySelector("[data-testid='series-in']")?.getAttribute("data-points") ?? "0") > n, before, { timeout: 30_000 });
      if (Number(await page.locator("[data-testid='latest-in']").innerText()) > 0) sawRate = true;
    }
    assert.ok(sawRate, "the produce chart showed a rate above 0 after a burst");
    await page.screenshot({ path: shot("overview") });

    // A consumer reads a quarter and commits; the group page shows the lag.
    await consumer.connect();
    consumer.subscribe([TOPIC]);
    let read = 0;
    while (read === 0) read += (await consumer.poll(1000)).length;
    await consumer.commit();
    await page.goto(`${b.url}/#/groups/billing`);
    const lag = page.locator("[data-testid=total-lag]");
    await page.waitForFunction((n) => document.querySelector("[data-testid='total-lag']")?.textContent === String(n), RECORDS - read, { timeout: 30_000 });
    assert.match(await page.locator("[data-testid=members]").innerText(), /billing-service/);
    // It catches up: the lag and the chart's latest point go to 0.
    while (read < RECORDS) read += (await consumer.poll(1000)).length;
    await consumer.commit();
    await page.waitForFunction(() => document.querySelector("[data-testid='total-lag']")?.textContent === "0", null, { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector("[data-testid='latest-lag']")?.textContent === "0", null, { timeout: 30_000 });
    assert.equal(await lag.innerText(), "0");
    await page.screenshot({ path: shot("group") });
    await consumer.close();

    // Reset to earliest: preview first (nothing changes), then apply.
    await page.waitForFunction(() => document.body.textContent?.includes("Empty") ?? false, null, { timeout: 30_000 });
    const reset = page.locator("[data-testid=reset-offsets]");
    await reset.locator("input[name=topic]").fill(TOPIC);
    await reset.locator("select[name=to]").selectOption("earliest");
    await reset.locator("button", { hasText: "Preview (dry run)" }).click();
    await reset.locator("[data-testid=reset-plan] tbody tr").first().waitFor();
    assert.deepEqual(await reset.locator("[data-testid=reset-plan] tbody tr td:nth-child(4)").allInnerTexts(), ["0"]);
    const admin = new Admin({ bootstrap: b.bootstrap });
    await admin.connect();
    try {
      assert.deepEqual((await admin.groupOffsets("billing")).map((o) => Number(o.offset)), [RECORDS], "the dry run committed nothing");
      await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
      await page.screenshot({ path: shot("group-reset-preview") });
      await reset.locator("button", { hasText: "Apply" }).click();
      await reset.locator("[data-testid=reset-result]", { hasText: "Offsets reset." }).waitFor();
      assert.deepEqual((await admin.groupOffsets("billing")).map((o) => Number(o.offset)), [0]);
    } finally {
      await admin.close();
    }
    await page.waitForFunction((n) => document.querySelector("[data-testid='latest-lag']")?.textContent === String(n), RECORDS, { timeout: 30_000 });
    assert.equal(await lag.innerText(), String(RECORDS));

    await page.goto(`${b.url}/#/groups`);
    await page.locator("[data-testid=groups] a", { hasText: "billing" }).waitFor();
    await page.screenshot({ path: shot("groups") });
    await page.goto(`${b.url}/#/cluster`);
    await page.locator("[data-testid=configs] tbody tr").first().waitFor();
    await page.screenshot({ path: shot("cluster") });
    assert.deepEqual(browser.errors, []);
  } finally {
    await consumer.close().catch(() => {});
    await browser.close();
    await b.stop();
  }
});
