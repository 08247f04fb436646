// Browser test of the console in Debian Chromium (playwright-core; no browser is downloaded): the lab's admin
// signs in through the login form (a wrong password refused first), the robots on the live map, a refused and then an accepted delivery from the dispatch form (its answer held back until the live feed
// has it underway, as a loaded fleet manager may answer late), driven to completed, with
// the recipient's confirmation given from the mission detail view.
// Usage: node e2e/console.e2e.mjs BASE_URL SCREENSHOT_DIR
import { join } from "node:path";
import { args, authed, fail, signInWithForm, withConsole } from "./browser.mjs";

const { base, shots } = args("console.e2e.mjs");
const DESTINATION = "lab";
const MIN_ROBOTS = 4;

await withConsole(base, async (page) => {
  await signInWithForm(page, shots);
  await page.waitForFunction((n) => document.querySelectorAll("svg[data-testid=map] g[data-testid=robot-marker]").length >= n,
    MIN_ROBOTS, { timeout: 30_000 });
  await page.waitForSelector("[data-testid=ws-status][data-state=live]", { timeout: 15_000 });
  const robots = await page.$$eval("g[data-testid=robot-marker]", (els) => els.map((e) => e.dataset.robotId).sort());
  console.log(`robots on the map: ${robots.join(", ")}`);
  const listed = await (await page.request.get(new URL("api/v1/robots", base).href, authed)).json();
  if (robots.length !== listed.length) fail(`${robots.length} robots on the map, the API lists ${listed.length}`);
  const rows = await page.$$eval("tr[data-testid=robot-row]", (els) => els.length);
  if (rows !== robots.length) fail(`${rows} rows in the robot list for ${robots.length} robots`);
  await page.screenshot({ path: join(shots, "console.png") });
  await page.locator("header.topbar").screenshot({ path: join(shots, "signed-in.png") });
  const role = await page.textContent("[data-testid=user-role]");
  if (role !== "admin") fail(`the top bar shows the role ${role}, not admin`);
  const gated = await page.$$eval("[data-needs]", (els) => els.map((e) => e.dataset.testid ?? e.textContent));
  if (gated.length) fail(`controls disabled for the admin: ${gated.join(", ")}`);

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
  // the dispatch's answer ('queued') held back until the live feed has the mission underway, as a loaded
  // fleet manager may answer: the older answer must not put the row back to queued
  let answerHeld = false;
  await page.route("**/api/v1/missions", async (route) => {
    if (route.request().method() !== "POST") return route.continue();
    const response = await route.fetch();
    const id = (await response.json()).id;
    await page.waitForSelector(`tr[data-testid=mission-row][data-mission-id="${id}"][data-status=underway]`, { timeout: 60_000 })
      .then(() => { answerHeld = true; }, () => {});
    await route.fulfill({ response });
  });
  await form.locator("select[name=destination]").selectOption(DESTINATION);
  await form.locator("button[type=submit]").click();
  const handle = await page.waitForFunction((known) => {
    const row = [...document.querySelectorAll("tr[data-testid=mission-row]")].find((r) => !known.includes(r.dataset.missionId));
    return row ? row.dataset.missionId : null;
  }, [...before], { timeout: 15_000 });
  const missionId = await handle.jsonValue();
  console.log(`dispatched mission ${missionId} to ${DESTINATION}`);
  if (!(await page.isHidden("[data-testid=form-error]"))) fail("the form still shows the earlier refusal");

  await page.waitForSelector("[data-testid=form-ok]:not([hidden])", { timeout: 90_000 });
  await page.unroute("**/api/v1/missions");
  if (!answerHeld) fail(`mission ${missionId} was not underway within 60 s`);
  await page.waitForTimeout(300);  // (the queue redraws on the next frame)
  const shown = await page.getAttribute(`tr[data-testid=mission-row][data-mission-id="${missionId}"]`, "data-status");
  if (shown !== "underway") fail(`mission ${missionId} reads ${shown} once the late dispatch answer came, not underway`);
  const row = `tr[data-testid=mission-row][data-mission-id="${missionId}"]`;
  const detail = `[data-testid=mission-detail][data-mission-id="${missionId}"]`;
  await page.click(row);
  await page.waitForSelector(`${detail}:not([hidden])`, { timeout: 5_000 });
  const deadline = Date.now() + 240_000;
  let status = "";
  let shotMid = false;
  let confirmed = false;
  while (Date.now() < deadline) {
    const seen = await page.getAttribute(row, "data-status");
    if (seen !== status) console.log(`mission ${missionId}: ${seen} (${new Date().toISOString().slice(11, 19)})`);
    status = seen;
    if (status === "underway" && !shotMid) {
      // the robot's route on the map: the released part drawn solid (the planned rest, if any, dashed)
      await page.waitForSelector("svg[data-testid=map] .routes polyline.route.released", { timeout: 20_000 });
      await page.waitForTimeout(2000);
      await page.screenshot({ path: join(shots, "underway.png") });
      shotMid = true;
    }
    const waiting = await page.$(`${detail} [data-testid=step][data-status=awaiting_confirmation]`);
    if (waiting && !confirmed) {  // the recipient's confirmation, given by the operator from the detail view
      const prompt = await waiting.textContent();
      console.log(`awaiting confirmation: ${prompt}`);
      if (!prompt.includes(DESTINATION)) fail(`the confirm step does not show its prompt: ${prompt}`);
      await page.screenshot({ path: join(shots, "awaiting-confirmation.png"), fullPage: true });
      await page.click(`${detail} button[data-action=confirm]`);
      confirmed = true;
    }
    if (["completed", "failed", "canceled"].includes(status)) break;
    await page.waitForTimeout(500);
  }
  console.log(`mission ${missionId}: ${status}`);
  if (status !== "completed") {
    const failure = await page.textContent(`${detail} .summary`).catch(() => "");
    fail(`mission ${missionId} ended ${status || "nowhere"} (wanted completed): ${failure}`);
  }
  const steps = await page.$$eval(`${detail} [data-testid=step]`, (els) => els.map((e) => e.dataset.status));
  if (!steps.every((s) => s === "done")) fail(`the step timeline of a completed mission reads ${steps.join(", ")}`);
  await page.screenshot({ path: join(shots, "completed.png"), fullPage: true });
  const messages = await page.$$eval("[data-testid=message]", (els) => els.map((e) => e.textContent));
  if (messages.length) fail(`unexpected messages: ${messages.join("; ")}`);
}, { signIn: "form" });
