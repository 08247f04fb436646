// Browser test of the Robots page (the robot registry), tests/browser/test_robots_admin.py.
// As the admin (ROBOT_ID given): the six robots of fleet.yaml are listed with their adapter and source; a nav2 robot
// ROBOT_ID is added, refused first (a bad TF topic and a zero top speed, then a home that is no place of the site:
// each error at its field, nothing typed lost), then registered; it is listed in the registry and, offline, in the
// operations view's robot list without a marker on the map; its top speed is edited; it is retired after the
// confirmation (kept once first) and is gone, listed again with "Show retired robots". A robot announced without
// registration (injected into GET /robots) is offered for registration, the form filled with its id and adapter.
// As a viewer ("viewer" instead of ROBOT_ID): the page is readable, every control disabled for the admin role.
// Screenshots robots.png, robot-form-errors.png, robot-form-home-error.png, robot-offline-console.png,
// robot-retire-confirm.png, robots-viewer.png.
// Usage: node e2e/robots.e2e.mjs BASE_URL SCREENSHOT_DIR ROBOT_ID|viewer
import { join } from "node:path";
import { allDisabled, apiJson, args, fail, noErrors, waitLive, withConsole } from "./browser.mjs";

const { base, shots, rest: [robotId] } = args("robots.e2e.mjs", "ROBOT_ID|viewer");
if (!robotId) fail("no ROBOT_ID (or viewer) given");
const FLEET = ["amr_1", "arm_1", "cleaner_1", "delivery_1", "delivery_2", "guide_1"];
const row = (id) => `tr[data-testid=registry-row][data-robot-id="${id}"]`;
const control = (field) => `form[data-testid=robot-form] [data-field="${field}"]:is(input, select)`;
const errorAt = (field) => `form[data-testid=robot-form] [data-testid=field-error][data-field="${field}"]`;

/** Opens the Robots page from the top bar and waits for the registry. */
async function openRobotsPage(page) {
  await page.click("[data-testid=nav-robots]");
  await page.waitForSelector("[data-testid=robots-view]:not([hidden])[data-state=ready]", { timeout: 15_000 });
  await page.waitForFunction((n) => document.querySelectorAll("tr[data-testid=registry-row]").length >= n,
    FLEET.length, { timeout: 10_000 });
}

/** The six robots of fleet.yaml: each with the agent adapter, seeded from fleet.yaml, its live status shown. */
async function checkFleet(page) {
  for (const id of FLEET) {
    const cells = await page.$eval(row(id), (tr) => ({ adapter: tr.dataset.adapter, source: tr.dataset.source,
      label: tr.querySelector("[data-testid=robot-adapter]")?.textContent,
      shown: tr.querySelector("[data-testid=registry-source]")?.textContent,
      mode: tr.querySelector("[data-testid=registry-mode]")?.textContent }));
    if (cells.adapter !== "labfleet" || cells.label !== "agent" || cells.source !== "fleet.yaml" ||
      cells.shown !== "fleet.yaml" || !cells.mode || cells.mode === "offline") fail(`${id} is listed as ${JSON.stringify(cells)}`);
  }
  console.log(`the registry lists ${FLEET.join(", ")}: agent, fleet.yaml, live`);
}

/** Values of the form's controls, by field path. */
const formValues = (page) => page.$$eval("form[data-testid=robot-form] [data-field]:is(input, select)",
  (els) => Object.fromEntries(els.map((e) => [e.dataset.field, e.value])));

async function submitAndWaitRefusal(page, fields) {
  await page.click("[data-testid=robot-form-save]");
  await page.waitForSelector("form[data-testid=robot-form][data-state=refused]", { timeout: 10_000 });
  for (const field of fields) {
    await page.waitForSelector(`${errorAt(field)}:not([hidden])`, { timeout: 2_000 });
    if (await page.getAttribute(control(field), "aria-invalid") !== "true") fail(`${field} is not marked invalid`);
  }
  const shown = await page.$$eval("[data-testid=field-error]:not([hidden])", (els) =>
    els.map((e) => `${e.dataset.field}: ${e.textContent}`));
  console.log(`refused, at the fields: ${shown.join(" | ")}`);
  if (shown.length !== fields.length) fail(`errors at ${shown.length} fields, wanted ${fields.join(", ")}`);
  return shown;
}

async function addRobot(page, places) {
  await page.click("[data-testid=registry-add]");
  await page.waitForSelector("form[data-testid=robot-form]:not([hidden])[data-mode=add]");
  // the adapter first: then only its connection fields
  if (await page.isVisible(control("connection.nav2.tf_topic"))) fail("connection fields shown before the adapter");
  // for VDA 5050 the form says the factsheet fills the model left empty; not for nav2
  await page.selectOption(control("adapter"), "vda5050");
  if (!(await page.isVisible("[data-testid=factsheet-note]"))) fail("no factsheet note for a VDA 5050 vehicle");
  await page.locator("form[data-testid=robot-form]").screenshot({ path: join(shots, "robot-form-vda5050.png") });
  await page.selectOption(control("adapter"), "nav2");
  if (await page.isVisible("[data-testid=factsheet-note]")) fail("the factsheet note is shown for a nav2 robot");
  for (const f of ["namespace", "tf_topic", "tf_static_topic", "map_frame", "base_frame"])
    if (!(await page.isVisible(control(`connection.nav2.${f}`)))) fail(`the nav2 field ${f} is not shown`);
  for (const f of ["connection.vda5050.manufacturer", "connection.labfleet.namespace"])
    if (await page.isVisible(control(f))) fail(`${f} is shown for a nav2 robot`);
  // every field has its label
  const unlabelled = await page.$$eval("form[data-testid=robot-form] :is(input, select)", (els) =>
    els.filter((e) => !e.labels?.length).map((e) => e.name));
  if (unlabelled.length) fail(`form fields without a label: ${unlabelled.join(", ")}`);

  const typed = {
    id: robotId, name: "TurtleBot 4 (browser test)", "connection.nav2.namespace": `/${robotId}`,
    "connection.nav2.tf_topic": "tf topic", "connection.nav2.map_frame": `${robotId}/map`,
    "connection.nav2.base_frame": `${robotId}/base_link`, "model.name": "turtlebot4", "model.kind": "patrol",
    "model.radius": "0.22", "model.max_speed": "0", "model.battery_capacity_wh": "95",
    "model.capabilities": "camera, lidar", "map_transform.x": "1.5", "map_transform.y": "-2",
    "map_transform.yaw": "0.5", "map_transform.scale": "1",
  };
  for (const [field, value] of Object.entries(typed)) await page.fill(control(field), value);
  await page.selectOption(control("home"), places.home);

  // 1. FastAPI's own refusal (a TF topic with a space, a top speed of 0): each error at its field
  await submitAndWaitRefusal(page, ["connection.nav2.tf_topic", "model.max_speed"]);
  const kept = await formValues(page);
  for (const [field, value] of Object.entries(typed)) {
    if (kept[field] !== value) fail(`the form lost ${field}: ${kept[field]} (typed ${value})`);
  }
  await page.screenshot({ path: join(shots, "robot-form-errors.png"), fullPage: true });

  // 2. the registry's refusal: a home that is no place of the site (as if it went since the page loaded)
  await page.fill(control("connection.nav2.tf_topic"), `/${robotId}/tf`);
  await page.fill(control("model.max_speed"), "0.3");
  await page.$eval(control("home"), (s) => { s.append(new Option("nowhere", "nowhere")); s.value = "nowhere"; });
  const [homeError] = await submitAndWaitRefusal(page, ["home"]);
  if (!homeError.includes("nowhere")) fail(`the home error does not name the place: ${homeError}`);
  if ((await page.inputValue(control("model.max_speed"))) !== "0.3") fail("the form lost the corrected top speed");
  if (!(await page.isHidden(errorAt("model.max_speed")))) fail("the earlier error is still shown");
  await page.locator("form[data-testid=robot-form]").screenshot({ path: join(shots, "robot-form-home-error.png") });

  // 3. a place of the site: registered
  await page.selectOption(control("home"), places.home);
  await page.click("[data-testid=robot-form-save]");
  await page.waitForSelector("[data-testid=robot-form][hidden]", { state: "attached", timeout: 10_000 });
  await page.waitForSelector(row(robotId), { timeout: 10_000 });
  const done = await page.textContent("[data-testid=registry-done]");
  if (!done.includes(robotId)) fail(`the page says ${done}`);
  const listed = await page.$eval(row(robotId), (tr) => ({ adapter: tr.dataset.adapter, source: tr.dataset.source,
    label: tr.querySelector("[data-testid=robot-adapter]")?.textContent, text: tr.textContent }));
  console.log(`registered: ${listed.text.replace(/\s+/g, " ")}`);
  if (listed.adapter !== "nav2" || listed.label !== "Nav2" || listed.source !== "api" || !listed.text.includes("offline")
    || !listed.text.includes("0.3 m/s") || !listed.text.includes(places.home)) fail(`the new row reads ${JSON.stringify(listed)}`);
  const stored = await apiJson(page, base, `robots/${robotId}/registration`);
  const want = { adapter: "nav2", name: typed.name, home: places.home, charger: null };
  for (const [k, v] of Object.entries(want)) if (stored[k] !== v) fail(`stored ${k} ${stored[k]}, wanted ${v}`);
  if (stored.connection.tf_topic !== `/${robotId}/tf` || stored.connection.map_frame !== `${robotId}/map`
    || stored.connection.tf_static_topic) fail(`stored connection ${JSON.stringify(stored.connection)}`);
  const m = stored.model;
  if (m.max_speed !== 0.3 || m.radius !== 0.22 || m.kind !== "patrol" || m.capabilities.join() !== "camera,lidar")
    fail(`stored model ${JSON.stringify(m)}`);
  if (JSON.stringify(stored.map_transform) !== JSON.stringify({ x: 1.5, y: -2, yaw: 0.5, scale: 1 }))
    fail(`stored map transform ${JSON.stringify(stored.map_transform)}`);
}

/** The operations view lists the new robot with its adapter, drawn on the map only when the API gives it a pose
 * (a robot that never reported has none; a Nav2 robot without TF is reported with localisation lost). */
async function checkOperations(page) {
  await page.click("[data-testid=nav-ops]");
  const listed = `tr[data-testid=robot-row][data-robot-id="${robotId}"]`;
  await page.waitForSelector(listed, { timeout: 15_000 });
  await page.waitForTimeout(1500); // a frame or two of telemetry
  const state = await apiJson(page, base, `robots/${robotId}`);
  const label = await page.textContent(`${listed} [data-testid=robot-adapter]`);
  if (label !== "Nav2") fail(`the robot list labels it ${label}`);
  const markers = await page.$$eval("g[data-testid=robot-marker]", (els) => els.map((e) => e.dataset.robotId));
  for (const id of FLEET) if (!markers.includes(id)) fail(`${id} is not drawn on the map`);
  const shown = (await page.textContent(listed)).replace(/\s+/g, " ");
  console.log(`operations: ${robotId} listed as “${shown}”; the API says mode ${state.mode}, localisation ` +
    `${state.localisation}, pose ${JSON.stringify(state.pose)}`);
  if (state.pose === null) {
    if (markers.includes(robotId)) fail("a robot without a pose is drawn on the map");
    await page.waitForSelector(`${listed}[data-mode=offline]`, { timeout: 5_000 });
  } else if (!markers.includes(robotId)) {
    fail("a robot with a pose is not drawn");
  }
  if (state.localisation === "lost") {
    await page.waitForSelector(`${listed} [data-testid=localisation-lost]`, { timeout: 5_000 });
    if (state.pose) await page.waitForSelector(`g[data-testid=robot-marker][data-robot-id="${robotId}"].localisation-lost`);
  }
  await page.screenshot({ path: join(shots, "robot-offline-console.png") });
}

async function editSpeed(page) {
  await page.click(`${row(robotId)} button[data-action=edit]`);
  await page.waitForSelector("form[data-testid=robot-form]:not([hidden])[data-mode=edit]");
  const values = await formValues(page);
  if (values.id !== robotId || values["connection.nav2.tf_topic"] !== `/${robotId}/tf` || values["model.max_speed"] !== "0.3")
    fail(`the edit form is not filled in: ${JSON.stringify(values)}`);
  if (!(await page.$eval(control("id"), (e) => e.readOnly))) fail("the id can be changed");
  await page.fill(control("model.max_speed"), "0.45");
  await page.click("[data-testid=robot-form-save]");
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.includes("0.45 m/s"), row(robotId),
    { timeout: 10_000 });
  const stored = await apiJson(page, base, `robots/${robotId}/registration`);
  if (stored.model.max_speed !== 0.45 || stored.connection.tf_topic !== `/${robotId}/tf` || stored.home === null)
    fail(`after the edit: ${JSON.stringify(stored)}`);
  console.log("top speed edited to 0.45 m/s; the rest kept");
}

async function retire(page) {
  const dialog = "dialog[data-testid=retire-dialog]";
  await page.click(`${row(robotId)} button[data-action=retire]`);
  await page.waitForSelector(`${dialog}[open]`);
  const asked = await page.textContent(dialog);
  console.log(`confirmation: ${asked}`);
  if (!asked.includes(robotId) || !/missions.*recordings stay/.test(asked)) fail(`the confirmation says ${asked}`);
  await page.screenshot({ path: join(shots, "robot-retire-confirm.png") });
  await page.click("[data-testid=retire-keep]");
  await page.waitForTimeout(500);
  if (!(await page.$(row(robotId)))) fail("kept, yet the robot is gone");
  await page.click(`${row(robotId)} button[data-action=retire]`);
  await page.click("[data-testid=retire-confirm]");
  await page.waitForSelector(row(robotId), { state: "detached", timeout: 10_000 });
  const done = await page.textContent("[data-testid=registry-done]");
  if (!done.includes("recordings stay")) fail(`the page says ${done}`);
  await page.check("[data-testid=show-retired]");
  await page.waitForSelector(`${row(robotId)}[data-retired=true]`, { timeout: 10_000 });
  if (await page.$(`${row(robotId)} button`)) fail("a retired robot offers actions");
  await page.uncheck("[data-testid=show-retired]");
  await page.waitForSelector(row(robotId), { state: "detached", timeout: 10_000 });
  console.log("retired: gone from the registry, listed with Show retired");
  // the operations view no longer has it as a registered robot (GET /robots may list it unregistered, offline)
  await page.click("[data-testid=nav-ops]");
  await page.waitForFunction((id) => {
    const tr = document.querySelector(`tr[data-testid=robot-row][data-robot-id="${id}"]`);
    return !tr || tr.dataset.registration === "unregistered";
  }, robotId, { timeout: 15_000 });
}

/** A robot that announces itself without being registered (injected into GET /robots at the edge, as a Nav2
 * namespace nobody registered is listed): "Register" opens the form with its id and adapter. */
async function registerOffered(page) {
  const visitor = { id: `visitor_${robotId.split("_").pop()}`, name: "", kind: "", model: "", adapter: "nav2",
    registration: "unregistered", mode: "idle", localisation: "ok", pose: { x: 1, y: 1, yaw: 0 },
    velocity: { linear: 0, angular: 0 }, battery: null, current_mission_id: null, last_seen: new Date().toISOString(),
    errors: ["not registered: never dispatched"], stamp: null, wall_time: null };
  await page.route("**/api/v1/robots", async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, json: [...(await response.json()), visitor] });
  });
  const offered = `tr[data-testid=unregistered-row][data-robot-id="${visitor.id}"]`;
  await page.waitForSelector(`${offered} button[data-action=register]`, { timeout: 10_000 });
  const label = await page.textContent(`${offered} [data-testid=robot-adapter]`);
  if (label !== "Nav2") fail(`the announced robot is labelled ${label}`);
  await page.click(`${offered} button[data-action=register]`);
  await page.waitForSelector("form[data-testid=robot-form]:not([hidden])[data-mode=register]");
  const values = await formValues(page);
  if (values.id !== visitor.id || values.adapter !== "nav2") fail(`the register form holds ${values.id}, ${values.adapter}`);
  if (!(await page.isVisible(control("connection.nav2.tf_topic")))) fail("the register form hides the nav2 fields");
  await page.click("form[data-testid=robot-form] button.secondary"); // Cancel: nothing is sent
  await page.waitForSelector("form[data-testid=robot-form][hidden]", { state: "attached" });
  await page.unroute("**/api/v1/robots");
  console.log(`announced ${visitor.id}: Register opens the form with its id and adapter`);
}

async function asViewer(page) {
  await openRobotsPage(page);
  await checkFleet(page);
  await page.waitForSelector("[data-testid=registry-admin-only]");
  await allDisabled(page, "[data-testid=robots-view] button:not(dialog button)", "the registry's controls", "admin");
  if (await page.isVisible("form[data-testid=robot-form]")) fail("the form is open for a viewer");
  await page.screenshot({ path: join(shots, "robots-viewer.png"), fullPage: true });
}

await withConsole(base, async (page) => {
  await waitLive(page);
  if (robotId === "viewer") {
    await asViewer(page);
    return;
  }
  const map = await apiJson(page, base, "sites/living_lab/map");
  const home = map.places.find((p) => p.kind === "parking")?.name ?? map.places[0].name;
  await openRobotsPage(page);
  await checkFleet(page);
  const gated = await page.$$eval("[data-testid=robots-view] [data-needs]", (els) => els.length);
  if (gated) fail(`${gated} controls are disabled for the admin`);
  await page.screenshot({ path: join(shots, "robots.png"), fullPage: true });
  await addRobot(page, { home });
  await checkOperations(page);
  await openRobotsPage(page);
  await editSpeed(page);
  await retire(page);
  await openRobotsPage(page);
  await registerOffered(page);
  await noErrors(page);
});
