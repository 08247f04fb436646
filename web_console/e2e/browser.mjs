// Shared by the browser tests: Debian Chromium through playwright-core (no browser is downloaded).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export function fail(message) {
  throw new Error(message);
}

/** Reads BASE_URL and SCREENSHOT_DIR from the command line, or exits with the usage. */
export function args(script) {
  const [base, shots] = process.argv.slice(2);
  if (!base || !shots) {
    console.error(`usage: node e2e/${script} BASE_URL SCREENSHOT_DIR`);
    process.exit(2);
  }
  return { base, shots };
}

/** Runs body(page) in a fresh headless Chromium; exits 1 with the reason if it throws or the page had errors.
 * options: extra browser context options, e.g. {timezoneId} to run the console in another time zone. */
export async function withConsole(base, body, options = {}) {
  const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "labfleet-chromium-")), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
    ...options,
  });
  let code = 0;
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    const errors = [];
    page.on("pageerror", (err) => errors.push(String(err)));
    await page.goto(base, { waitUntil: "domcontentloaded" });
    await body(page);
    if (errors.length) fail(`page errors: ${errors.join("; ")}`);
  } catch (err) {
    console.error(`console test failed: ${err.stack ?? err.message}`);
    code = 1;
  } finally {
    await browser.close();
  }
  process.exit(code);
}
