// Browser test of the console on a phone (issue 18, item 6), tests/browser/test_console.py: at 390 x 844 px the
// page never scrolls sideways (wide tables scroll inside their panel), the alerts come first, then the map, then the
// robots with their E-stops, the queue and the dispatch form; a tap on a robot opens its card as a sheet within
// the screen, its E-stop in view; the Pilots and Robots pages fit too. Screenshots phone.png, phone-card.png.
// Usage: node e2e/phone.e2e.mjs BASE_URL SCREENSHOT_DIR
import { join } from "node:path";
import { apiJson, args, fail, noErrors, waitLive, withConsole } from "./browser.mjs";

const { base, shots } = args("phone.e2e.mjs");
const WIDTH = 390;

async function noSideScroll(page, view) {
  const { scroll, inner, wide } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
    // whatever sticks out of the page (a table too wide for its panel that does not scroll inside it)
    wide: [...document.querySelectorAll("body *")].filter((e) => e.offsetParent !== null
      && e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest(".panel, .topbar .views"))
      .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`),
  }));
  if (scroll > inner) fail(`${view}: the page is ${scroll} px wide in a ${inner} px window (${wide.join(", ")})`);
  console.log(`${view}: ${scroll} px wide in ${inner} px, no side scroll`);
}

await withConsole(base, async (page) => {
  await waitLive(page);
  await page.waitForSelector("g[data-testid=robot-marker]", { timeout: 20_000 });
  await noSideScroll(page, "operations");
  const tops = await page.evaluate(() => Object.fromEntries(["alerts-panel", "map-panel", "robots-panel", "queue-panel",
    "dispatch-panel"].map((c) => [c, document.querySelector(`.${c}`).getBoundingClientRect().top])));
  const order = Object.entries(tops).sort((a, b) => a[1] - b[1]).map(([c]) => c);
  if (order.join() !== "alerts-panel,map-panel,robots-panel,queue-panel,dispatch-panel")
    fail(`on a phone the panels come in the order ${order.join(", ")}`);
  const estops = await page.$$eval("tr[data-testid=robot-row] button[data-command=estop]", (els) =>
    els.filter((e) => e.getBoundingClientRect().width > 0).length);
  if (!estops) fail("no robot's E-stop is shown on a phone");
  await page.screenshot({ path: join(shots, "phone.png"), fullPage: true });

  // a tap on a robot: its card, a sheet within the screen, its E-stop in view
  const robot = (await apiJson(page, base, "robots")).find((r) => r.pose !== null);
  await page.locator(`g[data-testid=robot-marker][data-robot-id="${robot.id}"]`).click({ force: true });
  const card = `[data-testid=robot-card]:not([hidden])[data-robot-id="${robot.id}"]`;
  await page.waitForSelector(card, { timeout: 5_000 }).catch(() => fail(`a tap on ${robot.id} did not open its card`));
  const box = await page.locator(card).boundingBox();
  const estop = await page.locator(`${card} button[data-command=estop]`).boundingBox();
  const view = page.viewportSize();
  if (box.x < 0 || box.x + box.width > view.width + 1) fail(`the card spans x ${box.x}..${box.x + box.width}`);
  if (!estop || estop.y < 0 || estop.y + estop.height > view.height) fail(`the card's E-stop is not in view: ${JSON.stringify(estop)}`);
  await page.screenshot({ path: join(shots, "phone-card.png") });
  await page.keyboard.press("Escape");
  console.log(`${robot.id}'s card: ${Math.round(box.width)} x ${Math.round(box.height)} px, E-stop in view`);

  for (const [hash, view] of [["#/pilots", "pilots"], ["#/robots", "robots"]]) {
    await page.evaluate((h) => { location.hash = h; }, hash);
    await page.waitForTimeout(1_500);
    await noSideScroll(page, view);
  }
  await noErrors(page);
}, { viewport: { width: WIDTH, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 });
