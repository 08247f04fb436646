// Browser test of the alerts panel and banner (issue 18), tests/browser/test_console.py: an idle robot e-stopped
// from the robot list raises an e-stop alert (SEV1, a banner alert) that the panel lists with the server's message
// and the banner shows; Acknowledge in the panel marks it acknowledged by the admin and takes it out of the banner
// (the robot still e-stopped: still open); Release clears it and it leaves the open list.
// Screenshots alerts.png (the page), alert-banner.png (the banner), alert-acknowledged.png (the panel after it). Prints "acknowledged alert ID" for the test.
// Usage: node e2e/alerts.e2e.mjs BASE_URL SCREENSHOT_DIR
import { join } from "node:path";
import { apiJson, args, credentials, fail, messages, noErrors, waitLive, withConsole } from "./browser.mjs";

const { base, shots } = args("alerts.e2e.mjs");

/** An idle, registered robot with no open alert of its own (the lab's robots may be busy: wait for one). */
async function idleRobot(page) {
  for (let tries = 0; tries < 60; tries++) {
    const robots = await apiJson(page, base, "robots");
    const alerted = new Set((await apiJson(page, base, "alerts?state=open")).map((a) => a.robot_id));
    const idle = robots.find((r) => r.mode === "idle" && r.registration !== "unregistered" && !alerted.has(r.id));
    if (idle) return idle.id;
    await page.waitForTimeout(1000);
  }
  fail("no idle robot without an open alert in a minute");
}

/** Clicks the robot's command button and waits for the robot's answer in the message area. */
async function command(page, row, name) {
  const before = (await messages(page, "info")).length;
  await page.click(`${row} button[data-command=${name}]`);
  await page.waitForFunction((n) => document.querySelectorAll("[data-testid=message].message-info").length > n,
    before, { timeout: 10_000 });
  console.log(`${name}: ${(await messages(page, "info"))[0]}`);
  await noErrors(page);
}

await withConsole(base, async (page) => {
  await waitLive(page);
  await page.waitForSelector("[data-testid=alerts-panel]", { timeout: 10_000 });
  const robotId = await idleRobot(page);
  console.log(`robot: ${robotId}`);
  const robotRow = `tr[data-testid=robot-row][data-robot-id="${robotId}"]`;
  await page.waitForSelector(robotRow, { timeout: 10_000 });
  if (await page.isChecked("[data-testid=alert-sound]")) fail("the alert sound is on by default");

  await command(page, robotRow, "estop");
  const estopRow = `[data-testid=alerts-panel] [data-testid=alert-row][data-kind=estop][data-robot-id="${robotId}"]`;
  try {
    await page.waitForSelector(`${estopRow}[data-active=true][data-acknowledged=false]`, { timeout: 15_000 });
  } catch {
    fail(`no open e-stop alert for ${robotId} in the panel: ${await page.textContent("[data-testid=alerts-panel]")}`);
  }
  const alertId = await page.getAttribute(estopRow, "data-alert-id");
  const alert = (await apiJson(page, base, "alerts?state=open")).find((a) => String(a.id) === alertId);
  if (!alert || alert.kind !== "estop" || alert.robot_id !== robotId || !alert.banner)
    fail(`the API's open alert ${alertId}: ${JSON.stringify(alert)}`);
  const row = `[data-testid=alert-row][data-alert-id="${alertId}"]`;
  const shown = await page.textContent(row);
  for (const part of [alert.message, "SEV1", "E-stop", robotId, "active"]) {
    if (!shown.includes(part)) fail(`the alert row lacks “${part}”: ${shown}`);
  }
  const count = await page.textContent("[data-testid=alerts-count]");
  const open = await page.$$eval("[data-testid=alert-row]", (els) => els.length);
  if (count !== String(open)) fail(`the count says ${count}, the panel lists ${open}`);
  console.log(`alert ${alertId} in the panel (${open} open): ${shown.replace(/\s+/g, " ").trim()}`);

  const bannerItem = `[data-testid=alert-banner]:not([hidden]) [data-testid=alert-banner-item][data-alert-id="${alertId}"]`;
  await page.waitForSelector(bannerItem, { timeout: 5_000 });
  const banner = await page.textContent(bannerItem);
  if (!banner.includes(alert.message)) fail(`the banner reads ${banner}`);
  console.log(`banner: ${banner.replace(/\s+/g, " ").trim()}`);
  await page.screenshot({ path: join(shots, "alerts.png"), fullPage: true });
  await page.locator("[data-testid=alert-banner]").screenshot({ path: join(shots, "alert-banner.png") });

  // acknowledged in the panel: by the admin, out of the banner, still open while the robot is e-stopped
  const answered = page.waitForResponse((r) => r.url().endsWith(`/alerts/${alertId}/acknowledge`), { timeout: 10_000 });
  await page.click(`${row} [data-testid=alert-ack]`);
  const answer = await answered;
  if (!answer.ok()) fail(`the acknowledgement was answered ${answer.status()}`);
  await page.waitForSelector(`${row}[data-acknowledged=true][data-active=true]`, { timeout: 10_000 });
  const acked = await page.textContent(`${row} [data-testid=alert-acknowledged]`);
  if (!acked.includes(`acknowledged by ${credentials.username}`)) fail(`the row says ${acked}`);
  if (await page.$(`${row} [data-testid=alert-ack]`)) fail("the acknowledged row still offers Acknowledge");
  await page.waitForSelector(`[data-testid=alert-banner-item][data-alert-id="${alertId}"]`, { state: "detached",
    timeout: 5_000 });
  console.log(`acknowledged alert ${alertId}: ${acked}`);
  await page.locator("[data-testid=alerts-panel]").screenshot({ path: join(shots, "alert-acknowledged.png") });

  // released: cleared, and (acknowledged) out of the open list
  await command(page, robotRow, "release");
  try {
    await page.waitForSelector(row, { state: "detached", timeout: 15_000 });
  } catch {
    fail(`alert ${alertId} is still listed after the release: ${await page.textContent(row)}`);
  }
  if ((await apiJson(page, base, "alerts?state=open")).some((a) => String(a.id) === alertId))
    fail(`the API still lists alert ${alertId} as open`);
  const closed = (await apiJson(page, base, "alerts?state=all")).find((a) => String(a.id) === alertId);
  if (!closed || closed.active || !closed.cleared_at || closed.acknowledged_by !== credentials.username)
    fail(`alert ${alertId} after the release: ${JSON.stringify(closed)}`);
  console.log(`alert ${alertId} cleared by the release and gone from the open list`);
  await noErrors(page);
});
