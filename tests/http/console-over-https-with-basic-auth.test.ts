/**
 * The console in headless Chromium behind an `https://` listener with basic auth and an authorizer: without
 * credentials the browser gets the 401 challenge; the super user creates a topic from the console; a user without ACLs sees the
 * console refuse the same action with Kafka's authorization error, and nothing is created.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startHttpTestBroker, secureHttpSettings } from "../support/http-broker.ts";
import { chromiumSkip, launchChromium } from "../support/chromium.ts";
import { makeTestCerts, certSkip } from "../security/test-certs.ts";

const JAAS = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret" user_bob="bob-secret";';

test("console over HTTPS with basic auth: 401 without credentials, actions authorized as the logged-in user", { skip: chromiumSkip() || certSkip || undefined, timeout: 180_000 }, async () => {
  const certs = makeTestCerts();
  const b = await startHttpTestBroker(secureHttpSettings(certs.serverKeystore, JAAS));
  const url = b.url;
  const browsers: Awaited<ReturnType<typeof launchChromium>>[] = [];
  try {
    const anonymous = await launchChromium({ ignoreHTTPSErrors: true });
    browsers.push(anonymous);
    // Headless Chromium answers the basic-auth challenge of a 401 without credentials with this error.
    await assert.rejects(anonymous.page.goto(`${url}/#/topics`), /ERR_INVALID_AUTH_CREDENTIALS/);

    const createFrom = async (user: string, password: string, topic: string) => {
      const browser = await launchChromium({ ignoreHTTPSErrors: true, httpCredentials: { username: user, password } });
      browsers.push(browser);
      assert.equal((await browser.page.goto(`${url}/#/topics`))?.status(), 200);
      const form = browser.page.locator("[data-testid=create-topic]");
      await form.locator("input[name=name]").fill(topic);
      await form.locator("button[type=submit]").click();
      return browser.page;
    };
    const adminPage = await createFrom("admin", "admin-secret", "from-admin");
    await adminPage.locator("[data-testid=topics] a", { hasText: "from-admin" }).waitFor();

    const bobPage = await createFrom("bob", "bob-secret", "from-bob");
    await bobPage.locator("[data-testid=create-topic] .error", { hasText: "not authorized" }).waitFor();
    // The admin sees every topic: bob's was not created.
    await adminPage.reload();
    await adminPage.locator("[data-testid=topics] a", { hasText: "from-admin" }).waitFor();
    assert.equal(await adminPage.locator("[data-testid=topics] a", { hasText: "from-bob" }).count(), 0, "bob's topic was not created");
    assert.equal(await bobPage.locator("[data-testid=topics] a", { hasText: "from-admin" }).count(), 0, "bob cannot describe the topic");
  } finally {
    for (const br of browsers) await br.close();
    await b.stop();
    certs.remove();
  }
});
