// Browser test of the console in Korean (issue 18), tests/browser/test_console.py: a browser whose language is
// ko-KR, in a time zone other than the site's (America/New_York), walks every view — operations with a mission's
// detail, the pilots, a pilot's dashboard, the robot registry, the audit log, a mission's playback — and fails on
// any English text of the catalogues (web_console/src/locales/en) that is still on the page: a heading, label,
// button or table header that is one, or a sentence of one anywhere. Times read in Asia/Seoul, the site's zone.
// The server's own English is taken out of the page first, but not where the console has the Korean: a template's
// description and its parameters' (the template's `labels`), a template's name in the dispatch form, an alert's
// message (its catalogue text): one of those on the page fails. An idle robot is e-stopped for the walk (released
// at its end), so that an alert is in the panel and the banner.
// Screenshots ko-operations.png, ko-dashboard.png, ko-robots.png.
// Usage: node e2e/korean.e2e.mjs BASE_URL SCREENSHOT_DIR MISSION_ID PILOT_ID
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { apiJson, args, fail, waitLive, withConsole } from "./browser.mjs";

const { base, shots, rest: [missionId, pilotId] } = args("korean.e2e.mjs", "MISSION_ID PILOT_ID");
if (!pilotId) fail("usage: MISSION_ID PILOT_ID");
const SITE_ZONE = "Asia/Seoul";

function catalogue(lang) {
  const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "locales", lang);
  return Object.assign({}, ...readdirSync(dir).filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8"))));
}
const en = catalogue("en");
const ko = catalogue("ko");
// English texts that Korean replaces (names and codes such as "KPI" or "SEV0" are the same in both)
const english = Object.entries(en).filter(([key, value]) => ko[key] !== value && /[A-Za-z]{2}/.test(value))
  .map(([key, value]) => ({ key, value: value.replace(/\{\w+\}/g, "").trim() }))
  .filter(({ value }) => value.length >= 2);
const sentences = english.filter(({ value }) => /[A-Za-z]+ [A-Za-z]+/.test(value) && value.length >= 10);

/** Every text the API answers about what the views show (event messages, incident descriptions, template
 * descriptions, audit details): the fleet manager's own words, English for now, are not the console's. */
async function serverTexts(page) {
  const paths = [`missions/${missionId}`, "missions?limit=200", "incidents?limit=500", "interventions?limit=500",
    "mission-templates", "robots", "pilots", `pilots/${encodeURIComponent(pilotId)}/kpis`, "audit?limit=500",
    "alerts?state=all&limit=500"];
  const found = new Set();
  const walk = (value) => {
    if (typeof value === "string") { if (value.length > 2) found.add(value); }
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === "object") Object.values(value).forEach(walk);
  };
  for (const path of paths) walk(await apiJson(page, base, path));
  return [...found].sort((a, b) => b.length - a.length);
}

/** The server's English the Korean console says in Korean: the descriptions of the templates (and of their
 * parameters) that have Korean labels, their names, and the messages of the open alerts that name their text. */
async function serverEnglish(page) {
  const texts = new Set();
  const names = new Set();
  for (const tpl of await apiJson(page, base, "mission-templates")) {
    const ko = tpl.labels?.ko;
    if (ko?.description) texts.add(tpl.description);
    if (ko?.name) names.add(tpl.name);
    for (const p of tpl.params) if (ko?.params?.[p.name]?.description && p.description) texts.add(p.description);
  }
  const alerts = (await apiJson(page, base, "alerts?state=open&limit=500")).filter((a) => a.text);
  for (const a of alerts) texts.add(a.message);
  return { texts: [...texts], names, alerts: alerts.length };
}

/** The English catalogue texts on the page: chrome elements (headings, labels, buttons, headers, the nav) whose
 * whole text is one, and sentences of the catalogue anywhere in the visible text but the server's. */
async function untranslated(page) {
  const chrome = await page.$$eval("h1, h2, h3, th, button, label, nav a, .hint, legend, option, .badge, .legend-item",
    (els) => els.filter((e) => e.offsetParent !== null || e.tagName === "OPTION").map((e) => e.textContent.trim()));
  let body = await page.evaluate(() => document.body.innerText);
  const found = new Set();
  const server = await serverEnglish(page);
  for (const text of server.texts) if (body.includes(text)) found.add(`the server's “${text}”`);
  const listed = await page.$$eval("select[name=template] option", (els) => els.map((e) => e.textContent.trim()));
  for (const name of listed) if (server.names.has(name)) found.add(`the template name “${name}”`);
  for (const text of await serverTexts(page)) body = body.split(text).join(" ");
  for (const { key, value } of english) if (chrome.includes(value)) found.add(`${key} “${value}”`);
  for (const { key, value } of sentences) if (body.includes(value)) found.add(`${key} “${value}”`);
  return [...found];
}

async function check(page, view) {
  await page.waitForTimeout(500); // (the views draw on the next frame)
  const left = await untranslated(page);
  if (left.length) fail(`${view}: English left in the Korean console: ${left.slice(0, 12).join("; ")}`);
  console.log(`${view}: no English text of the catalogues`);
}

function seoul(iso) {
  const t = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
  return new Intl.DateTimeFormat("ko-KR", { timeZone: SITE_ZONE, hourCycle: "h23", hour: "2-digit", minute: "2-digit",
    second: "2-digit" }).format(t);
}

await withConsole(base, async (page) => {
  await waitLive(page);
  const lang = await page.getAttribute("html", "lang");
  if (lang !== "ko") fail(`<html lang="${lang}">, wanted ko for a ko-KR browser`);
  if (await page.inputValue("[data-testid=lang-switch]") !== "ko") fail("the language switch does not show Korean");
  const zone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  if (zone === SITE_ZONE) fail("the browser runs in the site's time zone: the test would prove nothing");

  // an alert to read: an idle robot e-stopped for the walk (its alert in the panel and the banner)
  const robots = await apiJson(page, base, "robots");
  const stopped = robots.find((r) => r.mode === "idle" && r.registration !== "unregistered")?.id;
  if (stopped) {
    await apiJson(page, base, `robots/${encodeURIComponent(stopped)}/commands`, { method: "POST",
      data: { command: "estop", reason: "korean.e2e: an alert to read" } });
    await page.waitForSelector(`[data-testid=alert-row][data-kind=estop][data-robot-id="${stopped}"]`,
      { timeout: 15_000 });
  }
  try {
    // operations: the queue, a mission's detail; its creation time in Seoul's time, not the browser's
    const row = `tr[data-testid=mission-row][data-mission-id="${missionId}"]`;
    await page.waitForSelector(row, { timeout: 15_000 });
    const mission = await apiJson(page, base, `missions/${missionId}`);
    const created = await page.textContent(`${row} td:nth-child(8)`);
    if (!created.includes(seoul(mission.created_at)))
      fail(`mission ${missionId} shows created ${created}; in ${SITE_ZONE} it is ${seoul(mission.created_at)}`);
    console.log(`created ${mission.created_at} shows as ${created.trim()} (${SITE_ZONE}; the browser is in ${zone})`);
    await page.click(row);
    await page.waitForSelector(`[data-testid=mission-detail][data-mission-id="${missionId}"]`, { timeout: 10_000 });
    // its events in Korean: each one with a code (and plain params) shows its catalogue text, not the server's English
    const said = (mission.events ?? []).filter((e) => e.code && ko[`events.${e.code}`]
      && Object.values(e.params ?? {}).every((v) => typeof v !== "object"))
      .map((e) => ko[`events.${e.code}`].replace(/\{(\w+)\}/g, (whole, name) => String(e.params?.[name] ?? whole)));
    if (!said.length) fail(`mission ${missionId} has no coded event: ${JSON.stringify(mission.events)}`);
    try {
      await page.waitForFunction((texts) => {
        const shown = [...document.querySelectorAll("[data-testid=event] td:nth-child(5)")].map((c) => c.textContent);
        return texts.every((text) => shown.includes(text));
      }, said, { timeout: 10_000 });
    } catch {
      const shown = await page.$$eval("[data-testid=event] td:nth-child(5)", (cells) => cells.map((c) => c.textContent));
      fail(`the events of mission ${missionId} read ${JSON.stringify(shown)}, not ${JSON.stringify(said)}`);
    }
    console.log(`the events of mission ${missionId} in Korean: ${said.join(" / ")}`);
    await check(page, "operations");
    await page.screenshot({ path: join(shots, "ko-operations.png"), fullPage: true });

    await page.click("[data-testid=nav-pilots]");
    await page.waitForSelector("[data-testid=pilot-list] tbody tr", { timeout: 15_000 });
    await check(page, "pilots");
    await page.goto(`${base}#/pilots/${encodeURIComponent(pilotId)}`);
    await page.waitForSelector("[data-testid=pilot-dashboard]:not([hidden]) tr[data-testid=kpi-row]", { timeout: 30_000 });
    await check(page, "pilot dashboard");
    await page.screenshot({ path: join(shots, "ko-dashboard.png"), fullPage: true });

    await page.click("[data-testid=nav-robots]");
    await page.waitForSelector("[data-testid=robots-view]:not([hidden]) tr", { timeout: 15_000 });
    await check(page, "robot registry");
    await page.screenshot({ path: join(shots, "ko-robots.png"), fullPage: true });

    await page.click("[data-testid=nav-audit]");
    await page.waitForSelector("[data-testid=audit-view]:not([hidden]) tr", { timeout: 15_000 });
    await check(page, "audit log");

    await page.goto(`${base}#/missions/${missionId}/playback`);
    await page.waitForSelector("[data-testid=playback-view]:not([hidden])", { timeout: 15_000 });
    await page.waitForFunction(() => document.querySelector("[data-testid=playback-view]")?.dataset.state !== "loading",
      null, { timeout: 30_000 });
    await check(page, "playback");
    const { texts, alerts } = await serverEnglish(page);
    if (!alerts || !texts.length) fail(`nothing of the server's to check: ${alerts} alerts, ${texts.length} texts`);
    console.log(`${texts.length} English texts of the server said in Korean (${alerts} alerts, the templates)`);
  } finally {
    if (stopped) await apiJson(page, base, `robots/${encodeURIComponent(stopped)}/commands`, { method: "POST",
      data: { command: "release" } });
  }

  // the switch: English, remembered over a reload
  await page.selectOption("[data-testid=lang-switch]", "en");
  await page.waitForFunction(() => document.documentElement.lang === "en", null, { timeout: 15_000 });
  await page.reload();
  await page.waitForSelector("[data-testid=nav-ops]", { timeout: 15_000 });
  const nav = await page.textContent("[data-testid=nav-ops]");
  if (nav !== en["page.nav_ops"]) fail(`after switching to English the nav reads ${nav}`);
  console.log(`switched to English: the nav reads ${nav}, after a reload too`);
}, { locale: "ko-KR", timezoneId: "America/New_York" });
