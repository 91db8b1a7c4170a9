/**
 * Headless Chromium for the console's browser tests: Debian's /usr/bin/chromium (tests/setup.d/50-chromium.sh)
 * driven by playwright-core with that executable and a fresh user-data-dir; no browser is ever downloaded.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/** The Chromium the tests use. */
export const CHROMIUM = "/usr/bin/chromium";

/** Why browser tests must skip, or false. */
export function chromiumSkip(): string | false {
  return fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (tests/setup.d/50-chromium.sh)`;
}

/** A running browser with one page. */
export interface TestBrowser {
  /** The page. */
  page: Page;
  /** The context. */
  context: BrowserContext;
  /** Page errors and console errors seen so far. */
  errors: string[];
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh profile (optionally sending basic-auth credentials, accepting the test CA's HTTPS). */
export async function launchChromium(opts: { httpCredentials?: { username: string; password: string }; ignoreHTTPSErrors?: boolean } = {}): Promise<TestBrowser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    ...opts,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  return {
    page,
    context,
    errors,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
