/**
 * The console's ACL form offers every operation and resource type an ACL may hold in Kafka 4.4
 * (org.apache.kafka.common.acl.AclOperation and org.apache.kafka.common.resource.ResourceType, less UNKNOWN and ANY,
 * which only filters carry), TWO_PHASE_COMMIT (15, KIP-939) included: it had been missing from the form's hand-kept
 * list although the broker and the JSON API knew it. An ACL made with it from the form in real headless Chromium is
 * listed on the page and stored as the JSON API reports it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startHttpTestBroker, httpJson } from "../support/http-broker.ts";
import { chromiumSkip, launchChromium } from "../support/chromium.ts";

/** Kafka 4.4's AclOperation names an ACL may hold, in code order (2..15). */
const KAFKA_OPERATIONS = ["ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE", "CREATE_TOKENS", "DESCRIBE_TOKENS", "TWO_PHASE_COMMIT"];
/** Kafka 4.4's ResourceType names an ACL may hold, in code order (2..7). */
const KAFKA_RESOURCE_TYPES = ["TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN", "USER"];

test("console: the ACL form offers every Kafka operation, TWO_PHASE_COMMIT included, and creates an ACL with it", { skip: chromiumSkip(), timeout: 180_000 }, async () => {
  const b = await startHttpTestBroker();
  const browser = await launchChromium();
  const page = browser.page;
  try {
    await page.goto(`${b.url}/#/acls`);
    const form = page.locator("[data-testid=create-acl]");
    const options = (select: string) => form.locator(`select[name=${select}] option`).evaluateAll((os) => os.map((o) => o.getAttribute("value") ?? ""));
    assert.deepEqual(await options("operation"), KAFKA_OPERATIONS);
    assert.deepEqual(await options("resourceType"), KAFKA_RESOURCE_TYPES);

    await form.locator("input[name=principal]").fill("User:erin");
    await form.locator("select[name=operation]").selectOption("TWO_PHASE_COMMIT");
    await form.locator("select[name=resourceType]").selectOption("TRANSACTIONAL_ID");
    await form.locator("input[name=resourceName]").fill("payments-tx");
    await form.locator("button[type=submit]").click();
    const row = page.locator("[data-testid=acls] tbody tr", { hasText: "payments-tx" });
    await row.waitFor();
    assert.equal(await row.locator("td").nth(2).textContent(), "TWO_PHASE_COMMIT");
    const stored = (await httpJson(`${b.url}/v1/acls`)).body.acls;
    assert.deepEqual(stored.map((a: { principal: string; operation: string; resourceType: string; resourceName: string }) => [a.principal, a.operation, a.resourceType, a.resourceName]), [["User:erin", "TWO_PHASE_COMMIT", "TRANSACTIONAL_ID", "payments-tx"]]);
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
    await b.stop();
  }
});
