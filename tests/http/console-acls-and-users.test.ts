/**
 * The console's ACL and user pages in real headless Chromium: create a SCRAM user and an ACL from the forms, see
 * them listed (and in the broker's stores, as the JSON API reports them), delete both from the console. Saves
 * docs/screenshots/acls.png and users.png.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { startHttpTestBroker, httpJson } from "../support/http-broker.ts";
import { chromiumSkip, launchChromium } from "../support/chromium.ts";
import { ROOT } from "../support/broker-process.ts";

const shot = (name: string) => path.join(ROOT, "docs", "screenshots", `${name}.png`);

test("console: create and delete SCRAM users and ACLs", { skip: chromiumSkip(), timeout: 180_000 }, async () => {
  const b = await startHttpTestBroker();
  const browser = await launchChromium();
  const page = browser.page;
  try {
    // Users: create two from the form (one with SHA-512), delete one.
    await page.goto(`${b.url}/#/users`);
    const userForm = page.locator("[data-testid=create-user]");
    for (const [user, mechanism] of [["carol", "SCRAM-SHA-256"], ["dave", "SCRAM-SHA-512"]]) {
      await userForm.locator("input[name=user]").fill(user);
      await userForm.locator("input[name=password]").fill(`${user}-secret`);
      await userForm.locator("select[name=mechanism]").selectOption(mechanism);
      await userForm.locator("button[type=submit]").click();
      await page.locator("[data-testid=users] tbody tr", { hasText: user }).waitFor();
    }
    assert.equal(await page.locator("[data-testid=users] tbody tr", { hasText: "dave" }).locator("td").nth(1).textContent(), "SCRAM-SHA-512 (4096 iterations)");
    const stored = (await httpJson(`${b.url}/v1/users`)).body.users.find((u: { name: string }) => u.name === "carol");
    assert.deepEqual(stored?.credentials, [{ mechanism: "SCRAM-SHA-256", iterations: 4096 }], "carol's credential is stored");
    await page.screenshot({ path: shot("users"), fullPage: true });
    await page.locator("[data-testid=users] tbody tr", { hasText: "dave" }).locator("button", { hasText: "Delete" }).click();
    await page.locator("[data-testid=users] tbody tr", { hasText: "dave" }).waitFor({ state: "detached" });
    assert.deepEqual((await httpJson(`${b.url}/v1/users`)).body.users.map((u: { name: string }) => u.name), ["carol"]);

    // ACLs: a prefixed WRITE and a cluster DESCRIBE for carol, then delete the first.
    await page.goto(`${b.url}/#/acls`);
    const aclForm = page.locator("[data-testid=create-acl]");
    const create = async (operation: string, resourceType: string, patternType: string, name: string) => {
      await aclForm.locator("input[name=principal]").fill("User:carol");
      await aclForm.locator("select[name=operation]").selectOption(operation);
      await aclForm.locator("select[name=resourceType]").selectOption(resourceType);
      await aclForm.locator("select[name=patternType]").selectOption(patternType);
      await aclForm.locator("input[name=resourceName]").fill(name);
      await aclForm.locator("button[type=submit]").click();
      await page.locator("[data-testid=acls] tbody tr", { hasText: name }).waitFor();
    };
    await create("WRITE", "TOPIC", "PREFIXED", "orders-");
    await create("DESCRIBE", "CLUSTER", "LITERAL", "kafka-cluster");
    await page.screenshot({ path: shot("acls"), fullPage: true });
    // An invalid binding (a cluster ACL not named kafka-cluster) shows the broker's message and adds nothing.
    await aclForm.locator("select[name=resourceType]").selectOption("CLUSTER");
    await aclForm.locator("input[name=resourceName]").fill("elsewhere");
    await aclForm.locator("button[type=submit]").click();
    await aclForm.locator(".error", { hasText: "kafka-cluster" }).waitFor();
    assert.deepEqual((await httpJson(`${b.url}/v1/acls`)).body.acls.map((a: { operation: string; resourceName: string }) => `${a.operation} ${a.resourceName}`).sort(), ["DESCRIBE kafka-cluster", "WRITE orders-"]);
    await page.locator("[data-testid=acls] tbody tr", { hasText: "orders-" }).locator("button", { hasText: "Delete" }).click();
    await page.locator("[data-testid=acls] tbody tr", { hasText: "orders-" }).waitFor({ state: "detached" });
    assert.deepEqual((await httpJson(`${b.url}/v1/acls`)).body.acls.map((a: { operation: string; resourceName: string }) => `${a.operation} ${a.resourceName}`).sort(), ["DESCRIBE kafka-cluster"]);
    assert.deepEqual(browser.errors.filter((e) => !/status of 4\d\d/.test(e)), []);
  } finally {
    await browser.close();
    await b.stop();
  }
});
