/**
 * The console shows keys, values, headers and group/client ids as text: records carrying `<script>` and
 * `onerror=` payloads (and a group named like one) are displayed literally, no element from them reaches the
 * DOM, and none of their code runs. The check is on the DOM, so it does not rely on the Content-Security-Policy.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startHttpTestBroker } from "../support/http-broker.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { chromiumSkip, launchChromium } from "../support/chromium.ts";
import { Consumer } from "../../src/client/consumer.ts";

const skip = chromiumSkip() || (haveCommand("kcat") ? false : "kcat is not installed");
const KEY = `<script>window.__pwned="key"</script>`;
const VALUE = `<img src=x onerror="window.__pwned='value'">`;
const HEADER_KEY = `<svg onload><b>hkey</b>`;
const HEADER_VALUE = `"><script>window.__pwned='hvalue'</script>`;
const GROUP = `<img src=y onerror="window.__pwned='group'">`;

test("console renders hostile keys, values, headers and group ids as text", { skip, timeout: 180_000 }, async () => {
  const b = await startHttpTestBroker();
  const browser = await launchChromium();
  const page = browser.page;
  try {
    const p = await runProc("kcat", ["-P", "-b", b.bootstrap, "-t", "hostile", "-K", "\t", "-H", `${HEADER_KEY}=${HEADER_VALUE}`], { input: `${KEY}\t${VALUE}\n`, timeoutMs: 30_000 });
    assert.equal(p.code, 0, p.stderr);
    const consumer = new Consumer({ bootstrap: b.bootstrap, groupId: GROUP, clientId: `<b>client</b>`, autoOffsetReset: "earliest", enableAutoCommit: false });
    try {
      await consumer.connect();
      consumer.subscribe(["hostile"]);
      while ((await consumer.poll(1000)).length === 0);
      await consumer.commit();
    } finally {
      await consumer.close();
    }

    const hostileElements = () =>
      page.evaluate(() => ({
        pwned: (window as any).__pwned ?? null,
        elements: document.querySelectorAll("main img, main script, main svg[onload], main b:not(.card b):not(.meta b):not(.legend b)").length,
        handlers: [...document.querySelectorAll("main *")].filter((e) => [...e.attributes].some((a) => a.name.startsWith("on"))).length,
      }));

    await page.goto(`${b.url}/#/messages/hostile`);
    await page.locator("[data-testid=browse] button[type=submit]").click();
    const row = page.locator("[data-testid=records] tbody tr.clickable").first();
    await row.waitFor();
    await row.click();
    const detail = page.locator("[data-testid=record-detail]");
    await detail.waitFor();
    const text = await detail.innerText();
    for (const s of [KEY, VALUE, HEADER_KEY, HEADER_VALUE]) assert.ok(text.includes(s), `shown literally: ${s}\n${text}`);
    assert.deepEqual(await hostileElements(), { pwned: null, elements: 0, handlers: 0 });
    await detail.locator("button", { hasText: "text" }).click();
    assert.deepEqual(await hostileElements(), { pwned: null, elements: 0, handlers: 0 });

    await page.goto(`${b.url}/#/groups`);
    await page.locator("[data-testid=groups] a").first().waitFor();
    assert.equal(await page.locator("[data-testid=groups] a").first().innerText(), GROUP);
    await page.locator("[data-testid=groups] a").first().click();
    await page.locator("[data-testid=offsets] tbody tr").first().waitFor();
    assert.ok((await page.locator("h1").innerText()).includes(GROUP));
    assert.deepEqual(await hostileElements(), { pwned: null, elements: 0, handlers: 0 });
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
    await b.stop();
  }
});
