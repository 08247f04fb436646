// Browser test of the mission queue, the dispatch form, the mission detail view and the dispatch switch.
// Usage: node e2e/queue.e2e.mjs BASE_URL SCREENSHOT_DIR
import { join } from "node:path";
import { args, authed, fail, withConsole } from "./browser.mjs";

const { base, shots } = args("queue.e2e.mjs");
const api = new URL("api/v1/", base).href;
// the operator's clock is not UTC, nor the site's (and not a whole hour off it): not_before is typed as a wall
// time of the site (Asia/Seoul, as the console shows every time) and must reach the API in UTC
const TIMEZONE = "Asia/Kolkata";
const SITE_ZONE = "Asia/Seoul";
const row = (id) => `tr[data-testid=mission-row][data-mission-id="${id}"]`;

async function missionFromApi(page, id) {
  const response = await page.request.get(`${api}missions/${id}`, authed);
  if (!response.ok()) fail(`GET /missions/${id}: HTTP ${response.status()}`);
  return response.json();
}

async function waitStatus(page, id, wanted, timeout = 20_000) {
  const list = Array.isArray(wanted) ? wanted : [wanted];
  try {
    await page.waitForFunction(([sel, ok]) => ok.includes(document.querySelector(sel)?.dataset.status),
      [row(id), list], { timeout });
  } catch {
    fail(`mission ${id} is ${await page.getAttribute(row(id), "data-status")} in the queue, wanted ${list.join("|")}`);
  }
  return page.getAttribute(row(id), "data-status");
}

/** Fills and submits the dispatch form; returns the new mission's id, as the form reports it. */
async function dispatch(page, fields) {
  const form = page.locator("form[data-testid=dispatch-form]");
  await form.locator("select[name=template]").selectOption(fields.template);
  for (const [name, value] of Object.entries(fields.params)) {
    const input = form.locator(`#params [name="${name}"]`);
    if ((await input.evaluate((e) => e.tagName)) === "SELECT") await input.selectOption(value);
    else await input.fill(String(value));
  }
  await form.locator("select[name=priority]").selectOption(fields.priority ?? "normal");
  await form.locator("select[name=robot_id]").selectOption(fields.robot ?? "");
  await form.locator("input[name=not_before]").fill(fields.notBefore ?? "");
  const previous = await page.getAttribute("[data-testid=form-ok]", "data-mission-id");
  await form.locator("button[type=submit]").click();
  const handle = await page.waitForFunction((prev) => {
    const error = document.querySelector("[data-testid=form-error]");
    if (error && !error.hidden) return `error: ${error.textContent}`;
    const ok = document.querySelector("[data-testid=form-ok]");
    return ok && !ok.hidden && ok.dataset.missionId !== prev ? ok.dataset.missionId : null;
  }, previous, { timeout: 10_000 });
  const id = await handle.jsonValue();
  if (id.startsWith("error")) fail(`the form was refused: ${id}`);
  await page.waitForSelector(row(id), { timeout: 5_000 });
  return id;
}

async function dispatchState(page) {
  return (await (await page.request.get(`${api}dispatch`, authed)).json()).paused;
}

await withConsole(base, async (page) => {
  await page.waitForSelector("[data-testid=ws-status][data-state=live]", { timeout: 15_000 });
  await page.waitForSelector("table[data-testid=mission-queue]");
  await page.waitForSelector("[data-testid=dispatch-state][data-state=running]", { timeout: 10_000 });

  // 1. the form with every field: a delivery pinned to delivery_2, high priority, not before an hour from now
  // (the site's wall time)
  const later = await page.evaluate((zone) => {
    const d = new Date(Date.now() + 3600_000);
    const f = Object.fromEntries(new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric",
      month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }).formatToParts(d).map((x) => [x.type, x.value]));
    return { local: `${f.year}-${f.month}-${f.day}T${f.hour}:${f.minute}`, offset: d.getTimezoneOffset() };
  }, SITE_ZONE);
  if (later.offset !== -330) fail(`the browser is not in ${TIMEZONE} (offset ${later.offset} min)`);
  const held = await dispatch(page, {
    template: "delivery", params: { destination: "ward_bed_1", item: "e2e parcel", confirm_timeout: 120 },
    priority: "high", robot: "delivery_2", notBefore: later.local,
  });
  console.log(`dispatched mission ${held} (not before ${later.local} ${SITE_ZONE}, typed in a browser in ${TIMEZONE})`);
  // the form forgets what applied to that mission only: its priority, the pinned robot, the start time
  const left = await page.$eval("form[data-testid=dispatch-form]", (f) => [f.priority.value, f.robot_id.value,
    f.not_before.value]);
  if (left.join("|") !== "normal||") fail(`the form kept ${JSON.stringify(left)} after the dispatch`);
  // an emergency (it preempts running missions) is sent only on a second press: the first one asks
  const rows = await page.$$eval("tr[data-testid=mission-row]", (els) => els.length);
  await page.selectOption("form[data-testid=dispatch-form] select[name=priority]", "emergency");
  await page.click("form[data-testid=dispatch-form] button[type=submit]");
  await page.waitForSelector("[data-testid=form-error][data-kind=confirm]:not([hidden])", { timeout: 5_000 });
  const asked = await page.textContent("[data-testid=form-error]");
  await page.waitForTimeout(1000);
  if (await page.$$eval("tr[data-testid=mission-row]", (els) => els.length) !== rows) fail("an emergency went unasked");
  console.log(`emergency priority: asked first (“${asked}”), nothing sent`);
  await page.selectOption("form[data-testid=dispatch-form] select[name=priority]", "normal");
  const stored = await missionFromApi(page, held);
  if (stored.params.item !== "e2e parcel" || stored.params.destination !== "ward_bed_1" || stored.params.confirm_timeout !== 120)
    fail(`the form sent the wrong params: ${JSON.stringify(stored.params)}`);
  if (stored.priority !== "high" || stored.requested_robot_id !== "delivery_2")
    fail(`priority/robot not sent: ${stored.priority} ${stored.requested_robot_id}`);
  const wanted = Date.parse(`${later.local}:00+09:00`); // the wall time typed in, in Seoul
  if (Date.parse(stored.not_before) !== wanted)
    fail(`not_before ${stored.not_before}, wanted ${new Date(wanted).toISOString()} (typed ${later.local} in ${SITE_ZONE})`);
  const cells = await page.$$eval(`${row(held)} td`, (tds) => tds.map((td) => td.textContent));
  if (!cells[1].includes("delivery") || !cells[2].includes("high") || !cells[5].includes("ward_bed_1")
    || !cells[6].includes("requested delivery_2"))
    fail(`the queue row shows ${JSON.stringify(cells)}`);
  await page.waitForTimeout(3000); // idle robots, but not before an hour from now: it stays queued
  await waitStatus(page, held, "queued", 1000);

  // 2. the detail view: every step pending, the submission in the event list
  await page.click(row(held));
  const detail = `[data-testid=mission-detail][data-mission-id="${held}"]`;
  await page.waitForSelector(`${detail}:not([hidden])`, { timeout: 5_000 });
  await page.waitForFunction((n) => document.querySelectorAll("[data-testid=step-timeline] [data-testid=step]").length === n,
    stored.steps.length, { timeout: 5_000 });
  const steps = await page.$$eval("[data-testid=step]", (els) => els.map((e) => `${e.dataset.status} ${e.textContent}`));
  console.log(`step timeline:\n  ${steps.join("\n  ")}`);
  if (!steps.every((s) => s.startsWith("pending"))) fail("a step of a queued mission is not pending");
  if (!steps.some((s) => s.includes("confirm") && s.includes("e2e parcel"))) fail("the confirm step's prompt is not shown");
  await page.waitForSelector("[data-testid=event-list] tr[data-testid=event][data-status=queued]", { timeout: 5_000 });

  // 3. a refusal from the API is shown in the message area (one cancel answered 409 at the edge)
  await page.route("**/api/v1/missions/*/cancel", (route) => route.fulfill({
    status: 409, contentType: "application/json",
    body: JSON.stringify({ detail: "mission cannot go from e2e to canceled", field: "status" }),
  }), { times: 1 });
  await page.click(`${detail} button[data-action=cancel]`);
  const message = await page.waitForSelector("[data-testid=message]", { timeout: 5_000 });
  const shown = await message.textContent();
  console.log(`message area: ${shown}`);
  if (!shown.includes("cannot go from e2e to canceled") || !shown.includes(`#${held}`)) fail(`message reads ${shown}`);
  await message.$eval("button", (b) => b.click());

  // 4. cancel for real, from the queue row: the row, the detail and its event list all say canceled
  await page.click(`${row(held)} button[data-action=cancel]`);
  await waitStatus(page, held, "canceled");
  await page.waitForSelector(`${detail}[data-status=canceled]`, { timeout: 5_000 });
  await page.waitForSelector("[data-testid=event-list] tr[data-testid=event][data-status=canceled]", { timeout: 5_000 });
  if (await page.$(`${row(held)} button[data-action=cancel]`)) fail("a canceled mission still offers Cancel");
  if ((await missionFromApi(page, held)).status !== "canceled") fail("the API does not say canceled");
  await page.screenshot({ path: join(shots, "queue-detail.png"), fullPage: true });

  // 5. the dispatch switch: paused, an idle delivery robot is not given the new mission
  await page.click("[data-testid=dispatch-toggle]");
  await page.waitForSelector("[data-testid=dispatch-state][data-state=paused]", { timeout: 5_000 });
  if ((await dispatchState(page)) !== true) fail("the console shows dispatch paused but the API does not");
  const run = await dispatch(page, { template: "delivery", params: { destination: "lab", item: "sample" } });
  await page.waitForTimeout(4000);
  await waitStatus(page, run, "queued", 1000);
  console.log(`mission ${run} stays queued while dispatch is paused`);
  await page.screenshot({ path: join(shots, "dispatch-paused.png"), fullPage: true });
  await page.click("[data-testid=dispatch-toggle]");
  await page.waitForSelector("[data-testid=dispatch-state][data-state=running]", { timeout: 5_000 });
  if ((await dispatchState(page)) !== false) fail("the console shows dispatch running but the API does not");

  // 6. resumed: it is assigned and driven (frames update the queue and the open detail); pause, resume, cancel
  await page.click(row(run));
  const runDetail = `[data-testid=mission-detail][data-mission-id="${run}"]`;
  await page.waitForSelector(`${runDetail}:not([hidden])`, { timeout: 5_000 });
  await waitStatus(page, run, "underway", 30_000);
  await page.waitForSelector(`${runDetail} [data-testid=step][data-index="0"][data-status=active]`, { timeout: 10_000 });
  console.log(`mission ${run} underway on ${(await missionFromApi(page, run)).robot_id}`);
  await page.click(`${row(run)} button[data-action=pause]`);
  await waitStatus(page, run, "paused");
  await page.waitForSelector(`${runDetail}[data-status=paused] button[data-action=resume]`, { timeout: 5_000 });
  await page.screenshot({ path: join(shots, "mission-paused.png"), fullPage: true });
  await page.click(`${runDetail} button[data-action=resume]`);
  await waitStatus(page, run, "underway");
  await page.click(`${runDetail} button[data-action=cancel]`);
  await waitStatus(page, run, "canceled");
  await page.waitForSelector(`${runDetail}[data-status=canceled]`, { timeout: 5_000 });
  const events = await page.$$eval("[data-testid=event-list] tr[data-testid=event]", (trs) => trs.map((t) => t.dataset.status));
  for (const s of ["queued", "assigned", "underway", "paused", "canceled"])
    if (!events.includes(s)) fail(`the event list lacks ${s}: ${events.join(", ")}`);
  console.log(`mission ${run}: ${[...events].reverse().filter(Boolean).join(" → ")}`);
  await page.screenshot({ path: join(shots, "queue.png"), fullPage: true });

  // 6b. the queue's filters: by status, by text (the mission's id), by robot; cleared, every row is back
  const rowsShown = () => page.$$eval("tr[data-testid=mission-row]", (trs) => trs.map((t) => [t.dataset.missionId, t.dataset.status]));
  const all = await rowsShown();
  await page.selectOption("[data-testid=queue-filter-status]", "canceled");
  await page.waitForFunction(() => [...document.querySelectorAll("tr[data-testid=mission-row]")]
    .every((t) => t.dataset.status === "canceled"), null, { timeout: 5_000 });
  const canceled = await rowsShown();
  if (!canceled.some(([id]) => id === String(run))) fail(`the status filter shows ${JSON.stringify(canceled)}`);
  await page.selectOption("[data-testid=queue-filter-status]", "completed");
  await page.waitForFunction(() => [...document.querySelectorAll("tr[data-testid=mission-row]")]
    .every((t) => t.dataset.status === "completed"), null, { timeout: 5_000 });
  if ((await rowsShown()).some(([id]) => id === String(run))) fail("the filter on completed shows a canceled mission");
  await page.selectOption("[data-testid=queue-filter-status]", "");
  const robotId = (await missionFromApi(page, run)).robot_id;
  await page.selectOption("[data-testid=queue-filter-robot]", robotId);
  const byRobot = await page.$$eval("tr[data-testid=mission-row]", (trs) => trs.map((t) => t.textContent));
  if (!byRobot.length || byRobot.some((text) => !text.includes(robotId))) fail(`the robot filter shows ${byRobot.join(" | ")}`);
  await page.selectOption("[data-testid=queue-filter-robot]", "");
  await page.fill("[data-testid=queue-filter-text]", String(run));
  await page.waitForFunction((id) => {
    const ids = [...document.querySelectorAll("tr[data-testid=mission-row]")].map((t) => t.dataset.missionId);
    return ids.length === 1 && ids[0] === id;
  }, String(run), { timeout: 5_000 });
  const count = await page.textContent("[data-testid=queue-filter-count]");
  await page.screenshot({ path: join(shots, "queue-filtered.png"), fullPage: true });
  await page.fill("[data-testid=queue-filter-text]", "");
  await page.waitForFunction((n) => document.querySelectorAll("tr[data-testid=mission-row]").length >= n,
    all.length, { timeout: 5_000 });
  console.log(`queue filters: ${canceled.length} canceled of ${all.length}; ${byRobot.length} on ${robotId}; "${count}"`);

  // 7. the admin's audit page lists what was just done: the cancel, by this user, ok
  await page.click("[data-testid=nav-audit]");
  await page.waitForSelector("[data-testid=audit-view]:not([hidden]) tr[data-testid=audit-row]", { timeout: 15_000 });
  const audited = await page.$$eval("tr[data-testid=audit-row]", (trs) => trs.map((t) => t.textContent));
  const cancel = audited.find((t) => t.includes("/cancel") && t.includes(String(run)));
  if (!cancel || !cancel.includes("admin") || !cancel.includes("ok")) {
    fail(`the audit page lacks the cancel of mission ${run}: ${audited.slice(0, 5).join(" | ")}`);
  }
  console.log(`audit page: ${audited.length} entries, the cancel among them`);
  await page.screenshot({ path: join(shots, "audit.png"), fullPage: true });
  const errors = await page.$$eval("[data-testid=message]", (els) => els.map((e) => e.textContent));
  if (errors.length) fail(`unexpected messages: ${errors.join("; ")}`);
}, { timezoneId: TIMEZONE });
