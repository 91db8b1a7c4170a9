/**
 * The web console of a sharded node (`runnel start --shards 2 --http ...`, node.id 7) in headless Chromium: a
 * topic's partition table shows every partition's high watermark from the shard that leads it, all naming the node
 * (7), not a shard; the cluster page shows the node's id and listener among its broker configs; a group's offsets
 * reset from the console (preview, then apply) commits on its coordinator shard and its lag counts the partitions
 * of both shards.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chromiumSkip, launchChromium } from "../support/chromium.ts";
import { httpJson } from "../support/http-broker.ts";
import { haveCommand, runProc } from "../support/proc.ts";
import { readSomeAndLeave, startShardedHttpNode } from "../support/sharded-http-node.ts";
import { shardOf } from "../../src/shard/placement.ts";

const skip = chromiumSkip() || (haveCommand("kcat") ? false : "kcat is not installed");
const TOPIC = "orders";
const PARTITIONS = 4;
const SHARDS = 2;
const NODE_ID = "7";
/** Records produced to partition p. */
const countOf = (p: number) => 2 + 3 * p;

test("console of a 2-shard node: partitions of both shards, the node's configs, a group reset and its lag", { skip, timeout: 180_000 }, async () => {
  assert.equal(new Set(Array.from({ length: PARTITIONS }, (_, p) => shardOf(TOPIC, p, SHARDS))).size, SHARDS, "the topic's partitions are led by both shards");
  const { node, url, stop } = await startShardedHttpNode(SHARDS, { "node.id": NODE_ID });
  const browser = await launchChromium();
  const page = browser.page;
  try {
    assert.equal((await httpJson(`${url}/v1/topics`, "POST", { name: TOPIC, partitions: PARTITIONS })).status, 201);
    let total = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const lines = Array.from({ length: countOf(p) }, (_, i) => `order-${p}-${i}`);
      total += lines.length;
      const r = await runProc("kcat", ["-P", "-b", node.bootstrap, "-t", TOPIC, "-p", String(p)], { input: lines.join("\n") + "\n", timeoutMs: 30_000 });
      assert.equal(r.code, 0, r.stderr);
    }

    // The topic page: one row per partition, its figures from its owner, the node's id everywhere.
    await page.goto(`${url}/#/topics/${TOPIC}`);
    const rows = page.locator("[data-testid=partitions] tbody tr");
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid=partitions] tbody tr").length === n, PARTITIONS, { timeout: 30_000 });
    const column = (i: number) => rows.locator(`td:nth-child(${i})`).allInnerTexts();
    assert.deepEqual(await column(2), Array(PARTITIONS).fill(NODE_ID), "leader: the node");
    assert.deepEqual(await column(3), Array(PARTITIONS).fill(NODE_ID), "replicas: the node");
    assert.deepEqual(await column(6), Array.from({ length: PARTITIONS }, (_, p) => String(countOf(p))), "high watermark of each partition");

    // The cluster page: broker 7 and its settings, not a shard's.
    await page.goto(`${url}/#/cluster`);
    await page.locator("select[name=resource] option", { hasText: `broker ${NODE_ID}` }).waitFor({ state: "attached" });
    await page.locator("input[name=filter]").fill("listeners");
    await page.locator("[data-testid=configs] tbody tr").first().waitFor();
    const listeners = await page.locator("[data-testid=configs] tbody tr", { has: page.locator("td:first-child", { hasText: /^listeners$/ }) }).locator("td:nth-child(2)").innerText();
    assert.match(listeners, /^PLAINTEXT:\/\/127\.0\.0\.1:\d+$/, "the node's listener, not a shard's");

    // A group that read something and stopped, then reset to the earliest offsets from the console.
    await readSomeAndLeave(node.bootstrap, "billing", TOPIC);
    await page.goto(`${url}/#/groups/billing`);
    await page.waitForFunction(() => document.body.textContent?.includes("Empty") ?? false, null, { timeout: 30_000 });
    const reset = page.locator("[data-testid=reset-offsets]");
    await reset.locator("input[name=topic]").fill(TOPIC);
    await reset.locator("select[name=to]").selectOption("earliest");
    await reset.locator("button", { hasText: "Preview (dry run)" }).click();
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid=reset-plan] tbody tr").length === n, PARTITIONS, { timeout: 30_000 });
    await reset.locator("button", { hasText: "Apply" }).click();
    await reset.locator("[data-testid=reset-result]", { hasText: "Offsets reset." }).waitFor();
    await page.waitForFunction((n) => document.querySelector("[data-testid='total-lag']")?.textContent === String(n), total, { timeout: 30_000 });
    const offsets = page.locator("[data-testid=offsets] tbody tr");
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid=offsets] tbody tr").length === n, PARTITIONS, { timeout: 30_000 });
    assert.deepEqual(await offsets.locator("td:nth-child(4)").allInnerTexts(), Array.from({ length: PARTITIONS }, (_, p) => String(countOf(p))), "end offset of each partition");
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
    await stop();
  }
});
