// Browser test of the live map (issue 18), tests/browser/test_console.py: the site's zones are drawn with their kind;
// the robots' tags are upright, inside the map and clear of each other and of the robots; the places' names shown are
// inside the map and clear of each other and of the tags (at the whole site, zoomed in and panned); MISSION (a drive to a place
// then a confirmation, dispatched by the Python test) draws its robot's route in the robot's colour; a click on the
// robot opens its card (id, adapter, battery with its sparkline, mission, step, destination, E-stop), Escape closes
// it; the wheel (around the pointer), the + button and a pinch zoom in (a smaller viewBox, a larger data-zoom), a drag
// pans, Fit shows the whole site again; once the mission waits for its confirmation the robot's marker says so and the
// card's Confirm ends it; "Stop all" asks in the page and is canceled (the shared lab's fleet is not stopped). While
// MISSION drives, its queue row shows the server's ETA; once it ended, its detail shows its energy and CO₂ as the API.
// Screenshots map-zoomed.png, robot-card.png, queue-eta.png, mission-energy.png.
// Usage: node e2e/map.e2e.mjs BASE_URL SCREENSHOT_DIR MISSION_ID
import { join } from "node:path";
import { apiJson, args, fail, noErrors, waitLive, withConsole } from "./browser.mjs";

const { base, shots, rest: [missionId, goal = "lab"] } = args("map.e2e.mjs", "MISSION_ID [GOAL]");
if (!missionId) fail("usage: MISSION_ID");
const LABELS = { labfleet: "agent", nav2: "Nav2", vda5050: "VDA 5050" };
const MAP = "svg[data-testid=map]";
const marker = (id) => `g[data-testid=robot-marker][data-robot-id="${id}"]`;
const CARD = "[data-testid=robot-card]";

const viewBox = (page) => page.$eval(MAP, (svg) => {
  const { x, y, width, height } = svg.viewBox.baseVal;
  return { x, y, width, height, zoom: Number(svg.dataset.zoom) };
});

/** The map point under the client point (x, y). */
const mapPoint = (page, x, y) => page.$eval(MAP, (svg, [cx, cy]) => {
  const p = new DOMPoint(cx, cy).matrixTransform(svg.getScreenCTM().inverse());
  return [p.x, p.y];
}, [x, y]);

async function mapCentre(page) {
  const box = await page.locator(MAP).boundingBox();
  return { x: box.x + box.width / 2, y: box.y + box.height / 2, box };
}

/** The tags' and the robots' boxes on screen; problems: a tag turned or mirrored, outside the map, over another tag or
 * over a robot. */
const tagProblems = (page) => page.$eval(MAP, (svg) => {
  const area = svg.getBoundingClientRect();
  const tags = [...svg.querySelectorAll("[data-testid=robot-label]:not([hidden])")].map((g) => {
    const m = g.querySelector("text").getScreenCTM();
    return { id: g.dataset.robotId, r: g.getBoundingClientRect(), upright: m.a > 0 && m.d > 0 && Math.abs(m.b) < 1e-6 && Math.abs(m.c) < 1e-6 };
  });
  const bodies = [...svg.querySelectorAll("g[data-testid=robot-marker] .body")].map((b) => {
    const m = b.getScreenCTM(); // (the circle itself: the box of a turned circle is larger)
    const r = b.r.baseVal.value * Math.hypot(m.a, m.b);
    return { id: b.closest("[data-robot-id]").dataset.robotId, r: { left: m.e - r, right: m.e + r, top: m.f - r, bottom: m.f + r } };
  });
  const hit = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
  const names = [...svg.querySelectorAll("[data-testid=place-label]:not([hidden])")].map((n) => ({ id: n.dataset.place,
    r: n.getBoundingClientRect() }));
  const problems = [];
  for (const [i, n] of names.entries()) {
    if (n.r.left < area.left - 0.5 || n.r.right > area.right + 0.5 || n.r.top < area.top - 0.5 || n.r.bottom > area.bottom + 0.5)
      problems.push(`the name of ${n.id} is outside the map`);
    for (const o of names.slice(i + 1)) if (hit(n.r, o.r)) problems.push(`the names of ${n.id} and ${o.id} overlap`);
    for (const t of tags) if (hit(n.r, t.r)) problems.push(`the name of ${n.id} is under ${t.id}'s tag`);
  }
  for (const [i, t] of tags.entries()) {
    if (!t.upright) problems.push(`${t.id}'s tag is turned or mirrored`);
    if (t.r.left < area.left - 0.5 || t.r.right > area.right + 0.5 || t.r.top < area.top - 0.5 || t.r.bottom > area.bottom + 0.5)
      problems.push(`${t.id}'s tag is outside the map`);
    for (const u of tags.slice(i + 1)) if (hit(t.r, u.r)) problems.push(`the tags of ${t.id} and ${u.id} overlap`);
    for (const b of bodies) if (hit(t.r, b.r)) problems.push(`${t.id}'s tag is over robot ${b.id}`);
  }
  const rect = (r) => [r.left, r.top, r.right, r.bottom].map(Math.round).join(",");
  const hidden = svg.querySelectorAll("[data-testid=place-label][hidden]").length;
  return { count: tags.length, names: names.length, hidden, problems, layout: [...tags.map((t) => `tag ${t.id} ${rect(t.r)}`),
    ...names.map((n) => `name ${n.id} ${rect(n.r)}`),
    ...bodies.map((b) => `robot ${b.id} ${rect(b.r)}`), `map ${rect(area)}`].join("; ") };
});

async function checkTags(page, when, needTags = true) {
  let last = null;
  for (let i = 0; i < 20; i++) { // robots side by side may be passing each other: a clean layout within a few seconds
    last = await tagProblems(page);
    if ((last.count || !needTags) && !last.problems.length) break;
    await page.waitForTimeout(250);
  }
  if (!last.count && needTags) fail(`${when}: no robot tag on the map`);
  if (!last.names) fail(`${when}: no place's name on the map`);
  if (last.problems.length) {
    await page.locator(".map-panel").screenshot({ path: join(shots, "map-tags-failed.png") });
    fail(`${when}: ${last.problems.join("; ")} (map-tags-failed.png; ${last.layout})`);
  }
  console.log(`${when}: ${last.count} tags upright, inside the map, clear of each other and of the robots; ` +
    `${last.names} places' names inside the map, clear of each other and of the tags (${last.hidden} hidden: out of view or no room)`);
}

async function checkZones(page) {
  const site = (await apiJson(page, base, "sites")).find((s) => s.active).site;
  const { zones, grid } = await apiJson(page, base, `sites/${site}/map`);
  // (a site without an occupancy grid, as every hand-written one: no grid layer, the map as it always was)
  if (!grid && await page.$(`${MAP} [data-testid=map-grid]`)) fail("a site without a grid has a grid layer");
  const drawn = await page.$$eval(`${MAP} [data-testid=map-zone]`, (els) => els.map((e) => ({ name: e.dataset.zone,
    kind: e.dataset.kind, label: e.querySelector("text")?.textContent ?? "" })));
  for (const z of zones) {
    const d = drawn.find((x) => x.name === z.name);
    if (!d || d.kind !== z.kind || !d.label.includes(z.name)) fail(`zone ${z.name} (${z.kind}) is drawn as ${JSON.stringify(d)}`);
  }
  const under = await page.$eval(MAP, (svg) => {
    const layers = [...svg.querySelector("g").children].map((g) => g.getAttribute("class"));
    return layers.indexOf("zones") < layers.indexOf("lanes");
  });
  if (!under) fail("the zones are not drawn under the lanes");
  console.log(`zones: ${drawn.map((d) => `${d.name} (${d.label})`).join(", ")}`);
}

async function missionRobot(page) {
  for (let i = 0; i < 60; i++) {
    const m = await apiJson(page, base, `missions/${missionId}`);
    if (m.robot_id) return m.robot_id;
    await page.waitForTimeout(500);
  }
  fail(`mission ${missionId} was not assigned a robot`);
}

/** The robot's route is drawn in its colour, the colour of its marker's outline and its tag. */
async function checkRoute(page, robotId) {
  await page.waitForSelector(`${MAP} polyline.route[data-robot-id="${robotId}"]`, { timeout: 20_000 })
    .catch(() => fail(`no route drawn for ${robotId}, under way on mission ${missionId}`));
  const seen = await page.$eval(MAP, (svg, id) => {
    const css = (el, prop) => getComputedStyle(el)[prop];
    const m = svg.querySelector(`g[data-testid=robot-marker][data-robot-id="${id}"]`);
    return { colour: m.dataset.colour, outline: css(m.querySelector(".body"), "stroke"),
      tag: css(svg.querySelector(`[data-testid=robot-label][data-robot-id="${id}"] rect`), "stroke"),
      routes: [...svg.querySelectorAll(`polyline.route[data-robot-id="${id}"]`)].map((p) => css(p, "stroke")),
      others: [...svg.querySelectorAll("g[data-testid=robot-marker]")].map((g) => g.dataset.colour) };
  }, robotId);
  const rgb = (hex) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(", ")})`;
  const want = rgb(seen.colour);
  if (seen.outline !== want || seen.tag !== want || seen.routes.some((c) => c !== want))
    fail(`${robotId} is ${seen.colour} (${want}): outline ${seen.outline}, tag ${seen.tag}, route ${seen.routes.join(", ")}`);
  if (new Set(seen.others).size !== seen.others.length) fail(`two robots share a colour: ${seen.others.join(", ")}`);
  console.log(`${robotId}'s route (${seen.routes.length} parts), outline and tag in its colour ${seen.colour}; ` +
    `${seen.others.length} robots, ${seen.others.length} colours`);
}

async function openCard(page, robotId) {
  await page.locator(marker(robotId)).click({ force: true }); // (a moving robot is never "stable")
  await page.waitForSelector(`${CARD}:not([hidden])[data-robot-id="${robotId}"]`, { timeout: 5_000 })
    .catch(() => fail(`a click on ${robotId} did not open its card`));
}

async function checkCard(page, robotId) {
  await openCard(page, robotId);
  const robot = (await apiJson(page, base, "robots")).find((r) => r.id === robotId);
  const field = (name) => page.textContent(`${CARD} [data-testid=robot-card-${name}]`);
  if (await field("id") !== robotId) fail(`the card is titled ${await field("id")}, not ${robotId}`);
  const adapter = await field("adapter");
  if (!adapter.includes(LABELS[robot.adapter])) fail(`the card's adapter reads ${adapter}; ${robotId} is ${robot.adapter}`);
  const battery = await field("battery");
  const shown = Number(/(\d+)%/.exec(battery)?.[1]);
  if (!(Math.abs(shown - robot.battery.percentage) <= 2)) fail(`the card shows battery ${battery}, the API ${robot.battery.percentage}`);
  const points = Number(await page.getAttribute(`${CARD} [data-testid=battery-sparkline]`, "data-points"));
  if (!(points >= 1)) fail(`the battery sparkline has ${points} values`);
  const mission = await field("mission");
  if (!mission.includes(`#${missionId}`)) fail(`the card's mission reads ${mission}, wanted #${missionId}`);
  await page.waitForFunction(([sel, place]) => document.querySelector(sel)?.textContent.includes(place),
    [`${CARD} [data-testid=robot-card-destination]`, goal], { timeout: 5_000 }).catch(() => fail("the card gives no destination"));
  const step = await page.$(`${CARD} [data-testid=robot-card-step]`) ? await field("step") : "–";
  // the ETA once the robot's speed is known (a few seconds of frames); the robot may be there before
  const eta = await page.waitForFunction((sel) => {
    const shown = document.querySelector(sel)?.textContent ?? "";
    return /about/.test(shown) ? shown : null;
  }, `${CARD} [data-testid=robot-card-eta]`, { timeout: 8_000 }).then((h) => h.jsonValue())
    .catch(async () => `(${(await page.$(`${CARD} [data-testid=robot-card-eta]`)) ? await field("eta") : "none"})`);
  const estop = page.locator(`${CARD} button[data-command=estop]`);
  if (!(await estop.isEnabled()) || !(await page.$(`${CARD} button[data-command=release]`))) fail("no E-stop or Release on the card");
  const size = await estop.boundingBox();
  if (size.height < 36) fail(`the card's E-stop is ${size.height}px high: not large`);
  const red = await estop.evaluate((b) => getComputedStyle(b).backgroundColor);
  if (red !== "rgb(198, 40, 40)") fail(`the card's E-stop is ${red}, not red`);
  console.log(`card of ${robotId}: ${adapter.trim()}; battery ${battery.trim()} (${points} values); mission ${mission.trim()}; ` +
    `step ${step.trim()}; ETA ${eta}`);
  await page.keyboard.press("Escape");
  await page.waitForSelector(CARD, { state: "hidden", timeout: 3_000 }).catch(() => fail("Escape did not close the card"));
  // by keyboard: the focus is back on the robot, Enter opens its card again
  if (!(await page.evaluate((id) => document.activeElement?.dataset?.robotId === id, robotId))) fail("the focus is not back on the robot");
  await page.keyboard.press("Enter");
  await page.waitForSelector(`${CARD}:not([hidden])[data-robot-id="${robotId}"]`, { timeout: 3_000 })
    .catch(() => fail("Enter on a robot did not open its card"));
  await page.click(`${CARD} [data-testid=robot-card-close]`);
  await page.waitForSelector(CARD, { state: "hidden", timeout: 3_000 }).catch(() => fail("× did not close the card"));
}

async function zoomAndPan(page) {
  const home = await viewBox(page);
  if (Math.abs(home.zoom - 1) > 1e-3) fail(`the map opens at zoom ${home.zoom}`);
  const { x, y, box } = await mapCentre(page);
  // the wheel, around the pointer: the point under it stays under it
  const px = box.x + box.width * 0.3;
  const py = box.y + box.height * 0.4;
  const before = await mapPoint(page, px, py);
  await page.mouse.move(px, py);
  await page.mouse.wheel(0, -300);
  await page.waitForFunction((sel) => Number(document.querySelector(sel).dataset.zoom) > 1.01, MAP, { timeout: 5_000 })
    .catch(() => fail("the wheel did not zoom in"));
  const wheeled = await viewBox(page);
  const after = await mapPoint(page, px, py);
  if (!(wheeled.width < home.width) || Math.hypot(after[0] - before[0], after[1] - before[1]) > 0.05)
    fail(`wheel: viewBox ${JSON.stringify(wheeled)}, the point under the pointer moved from ${before} to ${after}`);
  await page.click("[data-testid=map-zoom-in]");
  const buttoned = await viewBox(page);
  if (!(buttoned.width < wheeled.width && buttoned.zoom > wheeled.zoom)) fail(`+ did not zoom in: ${JSON.stringify(buttoned)}`);
  // a drag pans: the view's origin moves the other way
  const unit = buttoned.width / box.width;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x - 150, y - 80, { steps: 8 });
  await page.mouse.up();
  const panned = await viewBox(page);
  if (Math.abs(panned.x - buttoned.x - 150 * unit) > 10 * unit || Math.abs(panned.y - buttoned.y - 80 * unit) > 10 * unit
    || Math.abs(panned.width - buttoned.width) > 1e-6) fail(`drag: ${JSON.stringify(buttoned)} → ${JSON.stringify(panned)}`);
  if (await page.isVisible(CARD)) fail("the end of a drag opened a robot's card");
  await checkTags(page, "zoomed in and panned", false); // (perhaps no robot in view)
  // two fingers spreading: a pinch zooms in (touch pointer events)
  await page.$eval(MAP, async (svg, [cx, cy]) => {
    const fire = (type, id, dx) => {
      const at = { clientX: cx + dx, clientY: cy };
      (document.elementFromPoint(at.clientX, at.clientY) ?? svg).dispatchEvent(new PointerEvent(type, { ...at, pointerId: id,
        pointerType: "touch", isPrimary: id === 41, bubbles: true, cancelable: true, button: type === "pointermove" ? -1 : 0 }));
    };
    fire("pointerdown", 41, -40);
    fire("pointerdown", 42, 40);
    for (let k = 1; k <= 6; k++) {
      fire("pointermove", 41, -40 - k * 10);
      fire("pointermove", 42, 40 + k * 10);
      await new Promise((r) => requestAnimationFrame(r));
    }
    fire("pointerup", 41, -100);
    fire("pointerup", 42, 100);
  }, [x, y]);
  const pinched = await viewBox(page);
  if (!(pinched.zoom > panned.zoom * 2)) fail(`a pinch from 80 to 200 px did not zoom in: ${panned.zoom} → ${pinched.zoom}`);
  console.log(`zoom: wheel ${wheeled.zoom}, + ${buttoned.zoom}, pinch ${pinched.zoom}; drag moved the view by ` +
    `(${(panned.x - buttoned.x).toFixed(2)}, ${(panned.y - buttoned.y).toFixed(2)}) m`);
  await page.click("[data-testid=map-fit]");
  const fitted = await viewBox(page);
  for (const k of ["x", "y", "width", "height"]) {
    if (Math.abs(fitted[k] - home[k]) > 1e-2) fail(`Fit: ${JSON.stringify(fitted)}, the whole site is ${JSON.stringify(home)}`);
  }
  if (Math.abs(fitted.zoom - 1) > 1e-3) fail(`Fit: data-zoom ${fitted.zoom}`);
  await page.click("[data-testid=map-zoom-out]");
  if ((await viewBox(page)).zoom < 1 - 1e-3) fail("zoomed out beyond the whole site");
  console.log("Fit shows the whole site again");
}

/** Zoomed in on the robots that stand closest together (the chargers, side by side): their tags stay clear. */
async function zoomOnRobots(page) {
  const centres = await page.$$eval("g[data-testid=robot-marker]:not([data-mode=moving]) .body", (els) => els.map((e) => {
    const r = e.getBoundingClientRect();
    return [r.x + r.width / 2, r.y + r.height / 2];
  }));
  const near = (p) => centres.filter((q) => Math.hypot(p[0] - q[0], p[1] - q[1]) < 120);
  const most = near(centres.reduce((best, p) => (near(p).length > near(best).length ? p : best)));
  const [x, y] = [0, 1].map((k) => most.reduce((sum, p) => sum + p[k], 0) / most.length); // their middle
  await page.mouse.move(x, y);
  for (let i = 0; i < 2; i++) {
    await page.mouse.wheel(0, -300);
    await page.waitForTimeout(150);
  }
  console.log(`zoomed to ${(await viewBox(page)).zoom} on ${most.length} robots standing together`);
  await checkTags(page, "zoomed in");
  await page.locator(".map-panel").screenshot({ path: join(shots, "map-zoomed.png") });
  await page.click("[data-testid=map-fit]");
}

/** The mission waits for its confirmation: the marker says so, the card offers Confirm, which ends the mission. */
async function awaitingAndConfirm(page, robotId) {
  await page.waitForSelector(`${marker(robotId)}[data-awaiting=true]`, { timeout: 120_000 })
    .catch(() => fail(`${robotId}'s marker never showed mission ${missionId} awaiting confirmation`));
  await openCard(page, robotId);
  const step = await page.textContent(`${CARD} [data-testid=robot-card-step]`);
  if (!step.includes("Map test")) fail(`the card's step does not show the prompt: ${step}`);
  await page.waitForSelector(`${CARD} [data-testid=robot-card-event]`, { timeout: 5_000 })
    .catch(() => fail("the card lists no event of the mission"));
  const events = await page.$$eval(`${CARD} [data-testid=robot-card-event]`, (els) => els.map((e) => e.textContent));
  console.log(`awaiting: ${step.trim()}; last events: ${events.join(" | ")}`);
  await page.waitForTimeout(300); // (the ring's pulse, in the screenshot)
  await page.locator(".map-panel").screenshot({ path: join(shots, "robot-card.png") });
  await page.click(`${CARD} button[data-action=confirm]`);
  for (let i = 0; i < 60; i++) {
    const m = await apiJson(page, base, `missions/${missionId}`);
    if (m.status === "completed") break;
    if (["failed", "canceled"].includes(m.status) || i === 59) fail(`mission ${missionId} is ${m.status} after Confirm`);
    await page.waitForTimeout(500);
  }
  await page.waitForSelector(`${marker(robotId)}[data-awaiting=false]`, { timeout: 10_000 })
    .catch(() => fail(`${robotId} still shows awaiting after its mission completed`));
  await page.keyboard.press("Escape");
  console.log(`confirmed from the card: mission ${missionId} completed`);
}

/** The running mission's row shows the server's ETA: a clock time and how long from now. */
async function checkEta(page) {
  const cell = `[data-testid=mission-row][data-mission-id="${missionId}"] [data-testid=mission-eta]`;
  await page.waitForSelector(`${cell}[data-eta]`, { timeout: 20_000 })
    .catch(async () => fail(`no ETA in the queue for mission ${missionId}: ${await page.textContent(cell).catch(() => "no row")}`));
  const m = await apiJson(page, base, `missions/${missionId}`);
  const shown = (await page.textContent(cell)).trim();
  if (m.remaining_s == null || !/\d\d:\d\d/.test(shown)) fail(`ETA ${shown}; the API: ${m.remaining_s} s, ${m.eta}`);
  console.log(`queue ETA of mission ${missionId}: ${shown} (the API: ${m.remaining_s} s left)`);
  await page.locator(".queue-panel").screenshot({ path: join(shots, "queue-eta.png") });
}

/** The ended mission's detail shows its energy, and its CO₂ as the API computed it. */
async function checkEnergy(page) {
  await page.click(`[data-testid=mission-row][data-mission-id="${missionId}"]`);
  await page.waitForSelector("[data-testid=mission-energy] [data-testid=mission-energy-wh]", { timeout: 10_000 })
    .catch(() => fail(`mission ${missionId}'s detail shows no energy`));
  const m = await apiJson(page, base, `missions/${missionId}`);
  const shown = await page.$$eval("[data-testid=mission-energy] dd", (dds) => dds.map((d) => `${d.dataset.testid}=${d.textContent}`));
  if (m.co2_g != null) {
    const co2 = shown.find((x) => x.startsWith("mission-co2="));
    if (!co2 || !co2.includes(m.co2_g.toFixed(1))) fail(`the detail shows ${shown.join(", ")}; the API's co2_g is ${m.co2_g}`);
  }
  console.log(`energy of mission ${missionId}: ${shown.join(", ")} (the API: ${m.energy_wh} Wh, ${m.co2_g} g CO2)`);
  await page.locator("[data-testid=mission-detail]").screenshot({ path: join(shots, "mission-energy.png") });
  await page.click("[data-testid=detail-close]");
}

/** "Stop all" asks first, in the page; Cancel and Escape leave the fleet as it is. */
async function fleetStopCanceled(page) {
  const posted = [];
  page.on("request", (r) => { if (r.url().includes("/robots/estop-all")) posted.push(r.url()); });
  await page.click("[data-testid=fleet-stop]");
  await page.waitForSelector("[data-testid=fleet-stop-confirm]:not([hidden])", { timeout: 3_000 })
    .catch(() => fail("Stop all asked for no confirmation"));
  const question = await page.textContent("[data-testid=fleet-stop-confirm]");
  if (!(await page.isVisible("[data-testid=fleet-stop-go]"))) fail("the confirmation has no button to stop the fleet");
  await page.click("[data-testid=fleet-stop-cancel]");
  await page.waitForSelector("[data-testid=fleet-stop-confirm]", { state: "hidden", timeout: 3_000 });
  await page.click("[data-testid=fleet-stop]");
  await page.waitForSelector("[data-testid=fleet-stop-confirm]:not([hidden])", { timeout: 3_000 });
  await page.keyboard.press("Escape");
  await page.waitForSelector("[data-testid=fleet-stop-confirm]", { state: "hidden", timeout: 3_000 })
    .catch(() => fail("Escape did not close the fleet stop's confirmation"));
  await page.waitForTimeout(300);
  if (posted.length) fail(`the fleet was stopped without a confirmation: ${posted.join(", ")}`);
  const modes = (await apiJson(page, base, "robots")).filter((r) => r.mode === "estop").map((r) => r.id);
  if (modes.length) fail(`robots e-stopped: ${modes.join(", ")}`);
  console.log(`Stop all asks “${question.replace(/\s+/g, " ").trim()}”; canceled, nothing sent`);
}

await withConsole(base, async (page) => {
  await waitLive(page);
  await page.waitForFunction(() => document.querySelectorAll("g[data-testid=robot-marker]").length >= 4, null,
    { timeout: 30_000 });
  await checkZones(page);
  await checkTags(page, "the whole site");
  const robotId = await missionRobot(page);
  await checkRoute(page, robotId);
  await checkEta(page);
  await checkCard(page, robotId);
  await zoomAndPan(page);
  await zoomOnRobots(page);
  await awaitingAndConfirm(page, robotId);
  await checkEnergy(page);
  await fleetStopCanceled(page);
  await noErrors(page);
});
