// Browser test of the console in Debian Chromium (playwright-core; no browser is downloaded).
// Usage: node e2e/console.e2e.mjs BASE_URL SCREENSHOT_DIR
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error("usage: node e2e/console.e2e.mjs BASE_URL SCREENSHOT_DIR");
  process.exit(2);
}
const DESTINATION = "lab";

function fail(message) {
  throw new Error(message);
}

const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "labfleet-chromium-")), {
  executablePath: "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1440, height: 900 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
let code = 0;
try {
  const page = browser.pages()[0] ?? (await browser.newPage());
  const errors = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  await page.goto(base, { waitUntil: "domcontentloaded" });

  await page.waitForFunction(() => document.querySelectorAll("svg[data-testid=map] g[data-testid=robot-marker]").length >= 4,
    null, { timeout: 30_000 });
  await page.waitForSelector("[data-testid=ws-status][data-state=live]", { timeout: 15_000 });
  const robots = await page.$$eval("g[data-testid=robot-marker]", (els) => els.map((e) => e.dataset.robotId).sort());
  console.log(`robots on the map: ${robots.join(", ")}`);
  if (robots.length !== 4) fail(`expected 4 robots on the map, found ${robots.length}`);
  await page.screenshot({ path: join(shots, "console.png") });

  // a bad submission shows the API's reason next to the form
  const form = page.locator("form[data-testid=dispatch-form]");
  await form.locator("select[name=template]").selectOption("delivery");
  await form.locator("select[name=destination]").selectOption("");
  await form.locator("button[type=submit]").click();
  await page.waitForSelector("[data-testid=form-error]:not([hidden])", { timeout: 10_000 });
  const reason = await page.textContent("[data-testid=form-error]");
  console.log(`refused as expected: ${reason}`);
  if (!reason.includes("destination")) fail(`the form error does not name the field: ${reason}`);

  const before = new Set(await page.$$eval("tr[data-testid=mission-row]", (els) => els.map((e) => e.dataset.missionId)));
  await form.locator("select[name=destination]").selectOption(DESTINATION);
  await form.locator("button[type=submit]").click();
  const handle = await page.waitForFunction((known) => {
    const row = [...document.querySelectorAll("tr[data-testid=mission-row]")].find((r) => !known.includes(r.dataset.missionId));
    return row ? row.dataset.missionId : null;
  }, [...before], { timeout: 15_000 });
  const missionId = await handle.jsonValue();
  console.log(`dispatched mission ${missionId} to ${DESTINATION}`);

  const row = `tr[data-testid=mission-row][data-mission-id="${missionId}"]`;
  const deadline = Date.now() + 240_000;
  let status = "";
  let shotMid = false;
  while (Date.now() < deadline) {
    status = await page.getAttribute(row, "data-status");
    if (status === "underway" && !shotMid) {
      await page.waitForTimeout(3000);
      await page.screenshot({ path: join(shots, "underway.png") });
      shotMid = true;
    }
    if (["completed", "failed", "canceled"].includes(status)) break;
    await page.waitForTimeout(500);
  }
  console.log(`mission ${missionId}: ${status}`);
  if (status !== "completed") fail(`mission ${missionId} ended ${status || "nowhere"} (wanted completed)`);
  await page.screenshot({ path: join(shots, "completed.png") });
  if (errors.length) fail(`page errors: ${errors.join("; ")}`);
} catch (err) {
  console.error(`console test failed: ${err.message}`);
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
