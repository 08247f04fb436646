// Browser test of the pilot dashboard in Debian Chromium (playwright-core; no browser is downloaded): from the
// operations view (plotly.js not loaded) to the Pilots view, the dashboard of PILOT_ID with the KPI table as /kpis
// answers it, the HTML report's three charts drawn by plotly.js from /charts, the per-robot table, the incidents and
// interventions; an intervention opened from the dashboard's form and ended; the targets edited (one removed, one
// added, saved, the verdict redrawn); screenshot pilot_dashboard.png.
// Usage: node e2e/pilots.e2e.mjs BASE_URL SCREENSHOT_DIR PILOT_ID
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { args, authed, fail, withConsole } from "./browser.mjs";

const { base, shots } = args("pilots.e2e.mjs");
const pilotId = process.argv[4];
if (!pilotId) fail("usage: node e2e/pilots.e2e.mjs BASE_URL SCREENSHOT_DIR PILOT_ID");
const CHARTS = ["chart-targets", "chart-trends", "chart-missions-per-day", "chart-site-map"];
const dash = `[data-testid=pilot-dashboard][data-pilot-id="${pilotId}"]`;

const fetchOk = async (page, url) => {
  const r = await page.request.get(new URL(url, base).href, authed);
  if (!r.ok()) fail(`GET ${url}: HTTP ${r.status()}`);
  return r;
};
const get = (page, path) => fetchOk(page, `api/v1${path}`);
const plotlyFetched = (page) => page.evaluate(() =>
  performance.getEntriesByType("resource").some((e) => e.name.includes("plotly")));

await withConsole(base, async (page) => {
  await page.waitForSelector("svg[data-testid=map]", { timeout: 30_000 });
  if (await plotlyFetched(page)) fail("the operations view loaded plotly.js");

  // the Pilots view from the top bar, then the pilot from the list
  await page.click("[data-testid=nav-pilots]");
  await page.waitForSelector("[data-testid=pilots-view]:not([hidden])", { timeout: 5_000 });
  if (!(await page.isHidden("[data-testid=ops-view]"))) fail("the operations view is still shown");
  const row = `tr[data-testid=pilot-row][data-pilot-id="${pilotId}"]`;
  await page.waitForSelector(row, { timeout: 10_000 });
  await page.click(row);
  await page.waitForSelector(`${dash}:not([hidden])`, { timeout: 15_000 });
  if (!page.url().endsWith(`#/pilots/${pilotId}`)) fail(`the address does not name the pilot: ${page.url()}`);

  // the charts: one plotly graph each, with its SVG drawn
  await page.waitForFunction((ids) => ids.every((id) => {
    const el = document.getElementById(id);
    return el?.dataset.drawn === "true" && el.classList.contains("js-plotly-plot") && el.querySelector(".main-svg");
  }), CHARTS, { timeout: 60_000 });
  const graphs = await page.$$eval(`${dash} .js-plotly-plot`, (els) => els.map((e) => e.id));
  if (graphs.join() !== CHARTS.join()) fail(`plotly graphs ${graphs.join(", ")}, wanted ${CHARTS.join(", ")}`);
  if (!(await plotlyFetched(page))) fail("plotly.js was not loaded for the dashboard");
  const traces = await page.$$eval(`${dash} .js-plotly-plot`, (els) => Object.fromEntries(els.map((e) =>
    [e.id, e.data.map((t) => t.name ?? t.type)])));
  console.log(`traces: ${JSON.stringify(traces)}`);
  for (const name of ["walls", "places", "interventions", "incident SEV2", "incident SEV3"]) {
    if (!traces["chart-site-map"].includes(name)) fail(`the site map has no "${name}" trace`);
  }
  for (const name of ["completed", "canceled"]) {
    if (!traces["chart-missions-per-day"].includes(name)) fail(`missions per day has no "${name}" bars`);
  }
  const bars = traces["chart-targets"].filter((name) => name !== "target").length;
  if (bars !== 4) fail(`${bars} bars in KPIs against targets for 4 targets`);
  const charts = await (await get(page, `/pilots/${pilotId}/charts`)).json();
  if (charts.charts.map((c) => c.id).join() !== CHARTS.join()) fail("/charts lists other charts");

  // the KPI table: every KPI of /kpis, with its value and verdict
  const kpis = await (await get(page, `/pilots/${pilotId}/kpis`)).json();
  const shown = await page.$$eval(`${dash} tr[data-testid=kpi-row]`, (els) => Object.fromEntries(els.map((e) =>
    [e.dataset.kpi, { value: e.querySelector("[data-value]").dataset.value, verdict: e.lastElementChild.textContent }])));
  console.log(`KPI rows: ${Object.keys(shown).length}`);
  if (Object.keys(shown).length < 20) fail(`only ${Object.keys(shown).length} KPI rows`);
  for (const [name, value] of Object.entries(kpis.kpis)) {
    if (value !== null && typeof value === "object") continue; // per severity: incidents.SEV0, ...
    const want = value === null ? "null" : String(value);
    if (shown[name]?.value !== want) fail(`KPI ${name} shows ${shown[name]?.value}, /kpis answers ${want}`);
  }
  if (shown["incidents.SEV2"]?.value !== "1") fail(`incidents.SEV2 shows ${shown["incidents.SEV2"]?.value}`);
  for (const t of kpis.targets) {
    const want = t.met === null ? "n.a." : t.met ? "met" : "not met";
    if (shown[t.kpi]?.verdict !== want) fail(`target ${t.kpi}: ${shown[t.kpi]?.verdict}, /kpis says ${want}`);
  }
  if (kpis.kpis.missions_total !== 2 || kpis.kpis.missions_completed !== 1) fail(`missions: ${JSON.stringify(kpis.kpis)}`);

  // per robot, incidents and interventions
  const robots = await page.$$eval(`${dash} [data-testid=robot-kpis] tbody tr`, (els) => els.map((e) => e.dataset.robot));
  if (robots.join() !== charts.robots.map((r) => r.robot_id).join()) fail(`per-robot rows: ${robots.join(", ")}`);
  // the two the test recorded, among what the lab's own watch recorded meanwhile (protective stops...), as listed
  const incidents = await page.$$eval(`${dash} tr[data-testid=incident-row]`, (els) => els.map((e) => e.dataset.severity));
  const incidentList = (await (await get(page, `/incidents?pilot_id=${pilotId}&limit=1000`)).json()).reverse();
  const shownPart = incidentList.slice(incidentList.length - incidents.length); // newer ones may have come since
  if (incidents.join() !== shownPart.map((i) => i.severity).join()) {
    fail(`incident rows (newest first): ${incidents.join(", ")}; /incidents: ${shownPart.map((i) => i.severity).join(", ")}`);
  }
  const kinds = shownPart.map((i) => `${i.kind} ${i.severity}`);
  if (!kinds.includes("near_miss SEV2") || !kinds.includes("blocked SEV3")) fail(`incidents shown: ${kinds.join(", ")}`);
  const before = await page.$$eval(`${dash} tr[data-testid=intervention-row]`, (els) => els.map((e) => e.dataset.open));
  if (before.join() !== "false") fail(`intervention rows: ${before.join(", ")}`);

  // the downloads: the HTML report and the CSV of the missions
  const report = await fetchOk(page, await page.getAttribute(`${dash} [data-testid=report-link]`, "href"));
  if (!(await report.text()).includes('id="chart-site-map"')) fail("the report link does not give the HTML report");
  const csv = await fetchOk(page, await page.getAttribute(`${dash} [data-testid=csv-link]`, "href"));
  if ((await csv.text()).trim().split("\n").length !== 3) fail("the CSV link does not give one row per mission");
  // clicked in the console, the link fetches the file with the token and saves it
  const [download] = await Promise.all([page.waitForEvent("download", { timeout: 15_000 }),
    page.click(`${dash} [data-testid=csv-link]`)]);
  const saved = readFileSync(await download.path(), "utf8");
  if (saved !== await csv.text()) fail(`the CSV saved from the console differs from the API's: ${saved.slice(0, 200)}`);
  console.log(`CSV saved from the console as ${download.suggestedFilename()}`);

  // an operator opens an intervention from the dashboard, then ends it
  const form = page.locator(`${dash} form[data-testid=intervention-form]`);
  await form.locator("select[name=kind]").selectOption("on_site");
  await form.locator("select[name=robot_id]").selectOption("guide_1");
  await form.locator("input[name=reason]").fill("stuck at the lift door");
  await form.locator("button[type=submit]").click();
  const open = `${dash} tr[data-testid=intervention-row][data-open=true]`;
  await page.waitForSelector(open, { timeout: 10_000 });
  if (!(await page.textContent(open)).includes("stuck at the lift door")) fail("the open intervention lacks its reason");
  await page.waitForFunction((ids) => ids.every((id) => document.getElementById(id)?.dataset.drawn === "true"), CHARTS,
    { timeout: 30_000 });
  await page.waitForTimeout(500); // let plotly finish its transitions before the screenshot
  await page.screenshot({ path: join(shots, "pilot_dashboard.png"), fullPage: true });

  await page.click(`${open} button`);
  await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2 &&
    [...document.querySelectorAll(sel)].every((r) => r.dataset.open === "false"),
  `${dash} tr[data-testid=intervention-row]`, { timeout: 10_000 });
  const listed = await (await get(page, `/interventions?pilot_id=${pilotId}`)).json();
  if (listed.length !== 2 || listed.some((i) => i.open)) fail(`interventions after ending: ${JSON.stringify(listed)}`);
  const messages = await page.$$eval("[data-testid=message]", (els) => els.map((e) => e.textContent));
  if (messages.length) fail(`unexpected messages: ${messages.join("; ")}`);

  // the targets, edited on the dashboard: mean_duration_s dropped, distance driven >= 0 km added; saved, the new
  // verdict is shown and the pilot holds the new targets
  const targets = `${dash} form[data-testid=targets-form]`;
  await page.click(`${targets} [data-testid=target-row][data-kpi=mean_duration_s] [data-testid=target-remove]`);
  await page.selectOption(`${targets} [data-testid=target-kpi]`, "distance_km");
  await page.click(`${targets} [data-testid=target-add]`);
  await page.fill(`${targets} [data-testid=target-row][data-kpi=distance_km] input`, "0");
  await page.click(`${targets} [data-testid=target-save]`);
  await page.waitForFunction((sel) => document.querySelector(sel)?.lastElementChild.textContent === "met",
    `${dash} tr[data-testid=kpi-row][data-kpi=distance_km]`, { timeout: 15_000 });
  const edited = await (await get(page, `/pilots/${pilotId}`)).json();
  if ("mean_duration_s" in edited.targets || edited.targets.distance_km !== 0) fail(`targets saved: ${JSON.stringify(edited.targets)}`);
  const name = await page.textContent(`${dash} tr[data-testid=kpi-row][data-kpi=distance_km] .kpi-name`);
  if (name !== "Distance driven") fail(`the KPI distance_km is named ${name}`);
  console.log(`targets edited: ${JSON.stringify(edited.targets)}`);
  console.log(`pilot ${pilotId}: dashboard checked`);
});
