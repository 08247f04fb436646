// Browser test of mission playback in Debian Chromium (playwright-core; no browser is downloaded): from the
// mission's detail view ("Play back") to #/missions/ID/playback, the recorded trajectory drawn on the map, the
// robot marker; play (the time cursor moves), seek to where the robot drives (the marker moves between two
// moments), speed 5x, a click on an event seeks to it, pause, "Download MCAP" saves the recording; a mission
// without a recording says so. Screenshots: playback-link.png (the detail view with "Play back"), playback.png
// mid-playback.
// Usage: node e2e/playback.e2e.mjs BASE_URL SCREENSHOT_DIR MISSION_ID
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { args, authed, fail, withConsole } from "./browser.mjs";

const { base, shots } = args("playback.e2e.mjs");
const missionId = process.argv[4];
if (!missionId) fail("usage: node e2e/playback.e2e.mjs BASE_URL SCREENSHOT_DIR MISSION_ID");
const view = `[data-testid=playback-view][data-mission-id="${missionId}"]`;
const marker = "#playback-map [data-testid=playback-marker]";

const now = (page) => page.$eval("[data-testid=playback-time]", (el) => Number(el.dataset.t));
const state = (page) => page.$eval("[data-testid=playback-view]", (el) => el.dataset.state);
const markers = (page) => page.$$eval(marker, (els) => els.map((e) => `${e.dataset.robotId} ${e.getAttribute("transform")}`));
/** Moves the seek slider as a user dragging it would (input events). */
const seek = (page, t) => page.$eval("[data-testid=playback-seek]", (el, value) => {
  el.value = String(value);
  el.dispatchEvent(new Event("input", { bubbles: true }));
}, t);
/** Waits until the time cursor has gone past `t` (the playback runs). */
const past = (page, t, timeout = 20_000) => page.waitForFunction((after) =>
  Number(document.querySelector("[data-testid=playback-time]").dataset.t) > after, t, { timeout });

await withConsole(base, async (page) => {
  const answer = await page.request.get(new URL(`api/v1/missions/${missionId}/playback`, base).href, authed);
  if (!answer.ok()) fail(`GET /missions/${missionId}/playback: HTTP ${answer.status()} ${await answer.text()}`);
  const data = await answer.json();
  const track = data.robots.find((r) => r.id === data.robot_id);
  if (!track) fail(`the playback has no track of ${data.robot_id}: ${data.robots.map((r) => r.id)}`);
  // a moment the robot drives at, a quarter into its driving: the marker must move from there on
  const driving = track.samples.filter((s) => s[5] === "moving" && Math.abs(s[4]) > 0.1);
  if (driving.length < 10) fail(`only ${driving.length} driving samples recorded`);
  const tDrive = driving[Math.floor(driving.length / 4)][0];
  console.log(`playback: ${data.robots.length} robots, ${track.samples.length} samples, ${data.events.length} events, ` +
    `${(data.end - data.start).toFixed(1)} s; driving at ${tDrive}`);

  // from the operations view: the mission's row, its detail, "Play back"
  await page.waitForSelector("svg[data-testid=map] [data-testid=robot-marker]", { timeout: 30_000 });
  const row = `tr[data-testid=mission-row][data-mission-id="${missionId}"]`;
  await page.waitForSelector(row, { timeout: 10_000 });
  await page.click(row);
  await page.waitForSelector(`[data-testid=mission-detail][data-mission-id="${missionId}"] [data-testid=playback-link]`,
    { timeout: 10_000 });
  await page.locator("[data-testid=playback-link]").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, "playback-link.png") });
  await page.click("[data-testid=playback-link]");
  await page.waitForSelector(`${view}[data-state=paused]`, { timeout: 20_000 });
  if (!page.url().endsWith(`#/missions/${missionId}/playback`)) fail(`the address is ${page.url()}`);
  if (!(await page.isHidden("[data-testid=ops-view]"))) fail("the operations view is still shown");

  // drawn: a trajectory per robot with every sample, the robot markers at the start
  const paths = await page.$$eval("#playback-map [data-testid=trajectory]", (els) => els.map((e) =>
    ({ robot: e.dataset.robotId, points: e.getAttribute("points").trim().split(/\s+/).length })));
  console.log(`trajectories: ${JSON.stringify(paths)}`);
  if (paths.length !== data.robots.length) fail(`${paths.length} trajectories for ${data.robots.length} robots`);
  const mine = paths.find((p) => p.robot === data.robot_id);
  if (mine?.points !== track.samples.length) fail(`the trajectory has ${mine?.points} points, ${track.samples.length} samples`);
  if ((await markers(page)).length !== data.robots.length) fail(`markers: ${await markers(page)}`);
  if ((await now(page)) !== data.start) fail(`the playback opens at ${await now(page)}, not ${data.start}`);
  const events = await page.$$eval("[data-testid=playback-event]", (els) => els.length);
  if (events !== data.events.length) fail(`${events} events listed, ${data.events.length} recorded`);

  // play: the time cursor moves
  await page.click("[data-testid=playback-play]");
  await page.waitForSelector(`${view}[data-state=playing]`, { timeout: 5_000 });
  await past(page, data.start);

  // seek to where the robot drives: the marker is where the track is, then moves on
  await seek(page, tDrive);
  const at = await now(page);
  if (Math.abs(at - tDrive) > 1.0) fail(`seeking to ${tDrive} put the cursor at ${at}`);
  const first = await markers(page);
  await past(page, at + 0.5);
  const second = await markers(page);
  console.log(`markers: ${first} → ${second}`);
  if (first.join() === second.join()) fail("the robot marker did not move while its robot drove");
  const travelled = await page.$eval(`#playback-map [data-testid=travelled][data-robot-id="${data.robot_id}"]`,
    (e) => e.getAttribute("points").trim().split(/\s+/).length);
  if (travelled < 2) fail(`the travelled part has ${travelled} points`);

  // speed: 5x, the cursor still runs
  await page.click("[data-testid=playback-speed][data-speed='5']");
  if ((await page.$eval(view, (el) => el.dataset.speed)) !== "5") fail("the speed is not 5x");
  const pressed = await page.$$eval("[data-testid=playback-speed][aria-pressed=true]", (els) => els.map((e) => e.dataset.speed));
  if (pressed.join() !== "5") fail(`pressed speeds: ${pressed}`);
  const t5 = await now(page);
  if ((await state(page)) === "playing") await past(page, t5);

  // mid-playback: the robot halfway through its drive, at 1x, running
  await page.click("[data-testid=playback-speed][data-speed='1']");
  const middle = driving[Math.floor(driving.length / 2)][0];
  await seek(page, middle);
  if ((await state(page)) !== "playing") await page.click("[data-testid=playback-play]");
  await past(page, middle + 0.3);
  const current = await page.$$eval("[data-testid=playback-event].current", (els) => els.length);
  if (current !== 1) fail(`${current} events marked current`);
  await page.screenshot({ path: join(shots, "playback.png") });
  const shotAt = await now(page);
  if (!(shotAt > data.start && shotAt < data.end)) fail(`the screenshot was taken at ${shotAt}, not mid-playback`);

  // a click on an event seeks to it and marks it
  const last = data.events.length - 1;
  await page.click(`[data-testid=playback-event]:nth-child(${last + 1})`);
  const [tLast] = data.events[last];
  const want = Math.min(Math.max(tLast, data.start), data.end);
  await page.waitForFunction((i) =>
    document.querySelectorAll("[data-testid=playback-event]")[i].classList.contains("current"), last, { timeout: 5_000 });
  const afterClick = await now(page);
  if (afterClick < want - 1e-3) fail(`clicking the last event put the cursor at ${afterClick}, not ${want}`);

  // pause holds the cursor
  await seek(page, middle);
  if ((await state(page)) !== "playing") await page.click("[data-testid=playback-play]");
  await page.click("[data-testid=playback-play]");
  await page.waitForSelector(`${view}[data-state=paused]`, { timeout: 5_000 });
  const held = await now(page);
  await page.waitForTimeout(400);
  if ((await now(page)) !== held) fail("the cursor moved while paused");

  // "Download MCAP": fetched with the token (a link cannot send it) and saved under the API's file name
  const [download] = await Promise.all([page.waitForEvent("download", { timeout: 30_000 }),
    page.click("[data-testid=playback-download]")]);
  const name = download.suggestedFilename();
  const magic = readFileSync(await download.path()).subarray(0, 5).toString("latin1");
  console.log(`downloaded ${name}, starting ${JSON.stringify(magic)}`);
  if (name !== `mission-${missionId}.mcap` || magic !== "\x89MCAP") fail(`the download is ${name}: ${magic}`);

  // a mission without a recording: the view says why
  await page.evaluate(() => { location.hash = "#/missions/999999/playback"; });
  await page.waitForSelector("[data-testid=playback-view][data-mission-id='999999'][data-state=error]", { timeout: 10_000 });
  const note = await page.textContent("[data-testid=playback-note]");
  if (!/No playback: .*999999/.test(note)) fail(`the unknown mission's playback says: ${note}`);
  if (!(await page.isDisabled("[data-testid=playback-play]"))) fail("play is enabled without a recording");

  // back to the operations view
  await page.click("[data-testid=playback-back]");
  await page.waitForSelector("[data-testid=ops-view]:not([hidden])", { timeout: 5_000 });
});
