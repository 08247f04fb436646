// Browser test of re-simulation in Debian Chromium (playwright-core; no browser is downloaded): from the mission's
// detail view ("Re-simulate") to #/missions/ID/replay, the playback at its re-simulation panel; a bad override is
// refused in the form; "Re-simulate" posts the replay and polls it until done; the comparison table (its rows and
// their figures against GET /replays/{id}), the step events, the KPIs; the re-simulated trajectory drawn dashed over
// the recorded one, its ghost marker following the timeline; then a what-if at half the top speed takes longer.
// Prints "replay id N" for each replay. Screenshots: replay_comparison.png (as recorded), replay_whatif.png.
// Usage: node e2e/replay.e2e.mjs BASE_URL SCREENSHOT_DIR MISSION_ID
import { join } from "node:path";
import { args, authed, fail, withConsole } from "./browser.mjs";

const { base, shots } = args("replay.e2e.mjs");
const missionId = process.argv[4];
if (!missionId) fail("usage: node e2e/replay.e2e.mjs BASE_URL SCREENSHOT_DIR MISSION_ID");
const panel = "[data-testid=replay-panel]";
const ROWS = ["robot", "outcome", "duration", "distance", "energy", "frechet", "dtw"];

/** The comparison table as {key: [cells]}. */
const tableRows = (page) => page.$$eval("[data-testid=replay-table] [data-testid=replay-row]", (trs) =>
  trs.map((tr) => [tr.dataset.key, [...tr.cells].map((td) => td.textContent.trim())]));
const fixed = (v, digits) => (v === null || v === undefined ? "–" : v.toFixed(digits));
const ghost = (page) => page.$eval("#playback-map [data-testid=resim-ghost]", (c) => `${c.getAttribute("cx")},${c.getAttribute("cy")}`);
const seek = (page, t) => page.$eval("[data-testid=playback-seek]", (el, value) => {
  el.value = String(value);
  el.dispatchEvent(new Event("input", { bubbles: true }));
}, t);

/** Clicks "Re-simulate" and waits for the comparison; returns the replay as the API stores it. */
async function resimulate(page, before) {
  await page.click("[data-testid=replay-start]");
  await page.waitForFunction((prev) => {
    const el = document.querySelector("[data-testid=replay-panel]");
    return el.dataset.state === "running" || (el.dataset.state === "done" && el.dataset.replayId !== prev);
  }, before, { timeout: 10_000 });
  await page.waitForFunction((prev) => {
    const el = document.querySelector("[data-testid=replay-panel]");
    if (el.dataset.state === "error") return true;
    return el.dataset.state === "done" && el.dataset.replayId !== prev;
  }, before, { timeout: 300_000 });
  const state = await page.$eval(panel, (el) => el.dataset.state);
  if (state !== "done") fail(`the re-simulation ended ${state}: ${await page.textContent("[data-testid=replay-status]")}`);
  const id = await page.$eval(panel, (el) => el.dataset.replayId);
  console.log(`replay id ${id}`);
  const answer = await page.request.get(new URL(`api/v1/replays/${id}`, base).href, authed);
  if (!answer.ok()) fail(`GET /replays/${id}: HTTP ${answer.status()}`);
  return answer.json();
}

/** The table shows the stored comparison: every row, the figures as the API has them. */
async function checkTable(page, replay) {
  const m = replay.comparison.missions[0];
  const rows = await tableRows(page);
  const keys = rows.map(([k]) => k);
  if (keys.join() !== ROWS.join()) fail(`comparison rows: ${keys}`);
  const cells = Object.fromEntries(rows);
  console.log(`comparison of replay ${replay.id}: ${JSON.stringify(cells)}`);
  const want = {
    robot: [m.original.robot_id, m.replay.robot_id],
    duration: [`${fixed(m.original.duration_s, 1)} s`, `${fixed(m.replay.duration_s, 1)} s`],
    distance: [`${fixed(m.original.distance_m, 2)} m`, `${fixed(m.replay.distance_m, 2)} m`],
  };
  for (const [key, [a, b]] of Object.entries(want)) {
    if (cells[key][1] !== a || cells[key][2] !== b) fail(`row ${key}: ${cells[key]}, expected ${a} | ${b}`);
  }
  if (!cells.outcome[1].startsWith(m.original.outcome) || !cells.outcome[2].startsWith(m.replay.outcome)) {
    fail(`row outcome: ${cells.outcome}`);
  }
  if (cells.frechet[1] !== `${fixed(m.path.frechet_m, 2)} m`) fail(`row frechet: ${cells.frechet}, ${m.path.frechet_m}`);
  if (cells.dtw[1] !== `${fixed(m.path.dtw_mean_m, 3)} m mean (${fixed(m.path.dtw_m, 1)} m total)`) fail(`row dtw: ${cells.dtw}`);
  const events = await page.$$eval("[data-testid=replay-events] [data-testid=replay-event]", (trs) =>
    trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
  if (events.length !== m.events.length || !events.length) fail(`${events.length} event rows, ${m.events.length} compared`);
  m.events.forEach((e, i) => { // each row: the step, its status, both times
    const [what, recorded, resim] = events[i];
    if (!what.startsWith(`${e.step_index} `) || !what.endsWith(e.status.replaceAll("_", " "))) fail(`event row ${i}: ${events[i]}`);
    if ((recorded === "–") !== (e.original_t === null) || (resim === "–") !== (e.replay_t === null)) fail(`event row ${i}: ${events[i]}`);
  });
  const kpis = await page.$$eval("[data-testid=replay-kpis] [data-testid=replay-kpi]", (trs) => trs.map((tr) => tr.dataset.key));
  if (kpis.join() !== Object.keys(replay.comparison.kpis.original).join()) fail(`KPI rows: ${kpis}`);
  const status = await page.textContent("[data-testid=replay-status]");
  if (!status.includes(`Replay #${replay.id}`) || !status.includes("real time")) fail(`the status says: ${status}`);
  return cells;
}

await withConsole(base, async (page) => {
  // from the operations view: the mission's row, its detail, "Re-simulate"
  await page.waitForSelector("svg[data-testid=map] [data-testid=robot-marker]", { timeout: 30_000 });
  const row = `tr[data-testid=mission-row][data-mission-id="${missionId}"]`;
  await page.waitForSelector(row, { timeout: 10_000 });
  await page.click(row);
  await page.waitForSelector(`[data-testid=mission-detail][data-mission-id="${missionId}"] [data-testid=replay-link]`,
    { timeout: 10_000 });
  await page.click("[data-testid=replay-link]");
  await page.waitForSelector(`[data-testid=playback-view][data-mission-id="${missionId}"][data-state=paused]`, { timeout: 20_000 });
  if (!page.url().endsWith(`#/missions/${missionId}/replay`)) fail(`the address is ${page.url()}`);
  await page.waitForSelector(`${panel}[data-state=idle]`, { timeout: 5_000 });
  if (await page.isDisabled("[data-testid=replay-start]")) fail("Re-simulate is disabled");
  if ((await page.$$("#playback-map [data-testid=resim-trajectory]")).length) fail("a re-simulated path before any replay");

  // a bad override: refused in the form, nothing posted
  await page.fill("[data-testid=replay-speed-factor]", "3");
  await page.click("[data-testid=replay-start]");
  await page.waitForSelector(`${panel}[data-state=error]`, { timeout: 5_000 });
  const refusal = await page.textContent("[data-testid=replay-status]");
  if (!/speed_factor/.test(refusal)) fail(`a speed factor of 3 was refused with: ${refusal}`);
  await page.fill("[data-testid=replay-speed-factor]", "");

  // as recorded: the comparison, side by side
  const first = await resimulate(page, "");
  const cells = await checkTable(page, first);
  const m = first.comparison.missions[0];
  if (m.replay.outcome !== "completed") fail(`the re-simulated mission ${m.replay.outcome}: ${m.replay.reason}`);
  if (!(m.path.frechet_m < 1.5)) fail(`Fréchet ${m.path.frechet_m} m: the re-simulation left the recorded route`);
  const unmatched = m.events.filter((e) => e.original_t === null || e.replay_t === null);
  if (unmatched.length) fail(`step events in one run only: ${JSON.stringify(unmatched)}`);
  console.log(`as recorded: duration ${cells.duration}, Fréchet ${cells.frechet[1]}, DTW ${cells.dtw[1]}`);

  // the re-simulated trajectory over the recorded one, a ghost that follows the timeline
  const drawn = await page.$$eval("#playback-map [data-testid=resim-trajectory]", (els) => els.map((e) =>
    ({ robot: e.dataset.robotId, points: e.getAttribute("points").trim().split(/\s+/).length })));
  const expected = Object.entries(first.result.trajectories).filter(([, rows]) => rows.length);
  if (drawn.length !== expected.length) fail(`${drawn.length} re-simulated paths drawn, ${expected.length} in the result`);
  for (const [robot, rows] of expected) {
    const d = drawn.find((p) => p.robot === robot);
    if (d?.points !== rows.length) fail(`${robot}'s re-simulated path: ${d?.points} points, ${rows.length} in the result`);
  }
  const play = await (await page.request.get(new URL(`api/v1/missions/${missionId}/playback`, base).href, authed)).json();
  await seek(page, play.start);
  const atStart = await ghost(page);
  const middle = (play.start + play.end) / 2;
  await seek(page, middle);
  const atMiddle = await ghost(page);
  console.log(`ghost: ${atStart} → ${atMiddle}`);
  if (atStart === atMiddle) fail("the ghost marker did not move with the timeline");
  await page.locator(panel).scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, "replay_comparison.png"), fullPage: true });

  // what if: half the top speed; the table shows the longer run
  await page.fill("[data-testid=replay-max-speed]", "0.5");
  const second = await resimulate(page, String(first.id));
  const slow = await checkTable(page, second);
  const s = second.comparison.missions[0];
  if (!(s.replay.duration_s > m.replay.duration_s)) fail(`at 0.5 m/s the mission took ${s.replay.duration_s} s, not longer than ${m.replay.duration_s} s`);
  if (!slow.duration[3].startsWith("+")) fail(`the duration's difference is shown as ${slow.duration[3]}`);
  const status = await page.textContent("[data-testid=replay-status]");
  if (!status.includes("max_speed=0.5")) fail(`the status does not name the override: ${status}`);
  console.log(`max_speed=0.5: duration ${slow.duration}`);
  await page.screenshot({ path: join(shots, "replay_whatif.png"), fullPage: true });
});
