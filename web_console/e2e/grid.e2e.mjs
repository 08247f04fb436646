// Browser test of an imported site's occupancy grid under the live map (issue 17), tests/browser/test_imported_grid.py:
// the console asks for the grid's PNG (GET /sites/{site}/map/grid, with the token) and draws it as an <image> in the
// map's SVG, under the zones, lanes and walls, faint; its corners lie where the map's `grid` (resolution, origin x, y,
// yaw) puts them, on screen to half a pixel, before and after zooming in and panning; the image holds the grid's shades
// (occupied 0, unknown 205, free 254). Screenshots map-grid.png (the whole site), map-grid-zoomed.png (its south-west
// corner), map-grid-dark.png (the dark scheme).
// Usage: node e2e/grid.e2e.mjs BASE_URL SCREENSHOT_DIR SITE
import { join } from "node:path";
import { apiJson, args, fail, noErrors, waitLive, withConsole } from "./browser.mjs";

const { base, shots, rest: [site] } = args("grid.e2e.mjs", "SITE");
if (!site) fail("usage: SITE");
const MAP = "svg[data-testid=map]";
const IMAGE = `${MAP} [data-testid=map-grid] image`;

/** How far (px) each corner of the drawn image is on screen from where the map's `grid` puts it, and its box. */
const placement = (page, grid) => page.$eval(MAP, (svg, g) => {
  const layer = svg.querySelector("[data-testid=map-grid]");
  const image = layer.querySelector("image");
  const world = layer.parentElement; // the map frame (+y up)
  const [ox, oy, yaw] = g.origin;
  const w = g.width * g.resolution;
  const h = g.height * g.resolution;
  const toMap = (x, y) => [ox + Math.cos(yaw) * x - Math.sin(yaw) * y, oy + Math.sin(yaw) * x + Math.cos(yaw) * y];
  // the image's corners (its own frame: top row first) and the map points they should land on
  const corners = [[[0, h], [0, 0]], [[w, h], [w, 0]], [[w, 0], [w, h]], [[0, 0], [0, h]]];
  const screen = (m, [x, y]) => new DOMPoint(x, y).matrixTransform(m);
  const off = corners.map(([img, grid]) => {
    const a = screen(image.getScreenCTM(), img);
    const b = screen(world.getScreenCTM(), toMap(...grid));
    return Math.hypot(a.x - b.x, a.y - b.y);
  });
  const box = image.getBoundingClientRect();
  return { off, box: { w: box.width, h: box.height }, first: world.firstElementChild === layer,
    underWalls: !!(layer.compareDocumentPosition(svg.querySelector(".walls")) & Node.DOCUMENT_POSITION_FOLLOWING),
    opacity: Number(getComputedStyle(layer).opacity), size: [image.getAttribute("width"), image.getAttribute("height")] };
}, grid);

function checkPlacement(where, p, grid) {
  console.log(`${where}: corners off by ${p.off.map((d) => d.toFixed(2)).join(", ")} px, image ${p.box.w.toFixed(0)} x ${p.box.h.toFixed(0)} px`);
  if (p.off.some((d) => d > 0.5)) fail(`${where}: the grid's corners are not where its origin and yaw put them: ${p.off}`);
  const want = [grid.width * grid.resolution, grid.height * grid.resolution];
  if (p.size.some((v, i) => Math.abs(Number(v) - want[i]) > 1e-6)) fail(`${where}: image size ${p.size}, want ${want}`);
}

await withConsole(base, async (page) => {
  const answers = [];
  page.on("response", (r) => {
    if (r.url().endsWith(`/api/v1/sites/${site}/map/grid`)) answers.push([r.status(), r.headers()["content-type"]]);
  });
  await page.reload({ waitUntil: "domcontentloaded" }); // (the listener in place before the console loads)
  await waitLive(page);
  const { grid } = await apiJson(page, base, `sites/${site}/map`);
  if (!grid) fail(`the site map of ${site} has no grid`);
  await page.waitForSelector(`${IMAGE}[href^="blob:"]`, { state: "attached", timeout: 15_000 });
  if (!answers.length || answers.some(([status, type]) => status !== 200 || type !== "image/png")) {
    fail(`GET /sites/${site}/map/grid: ${JSON.stringify(answers)} (200 image/png expected)`);
  }
  console.log(`grid: ${grid.width} x ${grid.height} px at ${grid.resolution} m, origin ${grid.origin}: ${JSON.stringify(answers)}`);

  // the image the console draws holds the grid, pixel for pixel
  const shades = await page.$eval(IMAGE, async (image) => {
    const img = new Image();
    img.src = image.getAttribute("href");
    await img.decode();
    const canvas = Object.assign(document.createElement("canvas"), { width: img.naturalWidth, height: img.naturalHeight });
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const count = {};
    for (let i = 0; i < data.length; i += 4) count[data[i]] = (count[data[i]] ?? 0) + 1;
    return { w: img.naturalWidth, h: img.naturalHeight, count };
  });
  console.log(`decoded ${shades.w} x ${shades.h}, shades ${JSON.stringify(shades.count)}`);
  if (shades.w !== grid.width || shades.h !== grid.height) fail(`the image is ${shades.w} x ${shades.h}`);
  if (Object.keys(shades.count).sort().join() !== "0,205,254") fail(`shades ${Object.keys(shades.count)}, want 0, 205, 254`);

  const home = await placement(page, grid);
  checkPlacement("whole site", home, grid);
  if (!home.first || !home.underWalls) fail("the grid is not the map's bottom layer");
  if (!(home.opacity > 0.1 && home.opacity < 0.5)) fail(`the grid is not faint: opacity ${home.opacity}`);
  await page.waitForTimeout(300); // (the image painted)
  await page.screenshot({ path: join(shots, "map-grid.png") });

  // zoom and pan move it with the rest of the map
  await page.click("#map-zoom-in");
  await page.click("#map-zoom-in");
  const box = await page.locator(MAP).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 380, box.y + box.height / 2 - 260, { steps: 6 }); // to the south-west corner
  await page.mouse.up();
  const zoomed = await placement(page, grid);
  checkPlacement("zoomed in and panned", zoomed, grid);
  const ratio = zoomed.box.w / home.box.w;
  if (Math.abs(ratio - 2.25) > 0.05) fail(`the grid grew ${ratio.toFixed(3)}x with two zoom steps (2.25x)`);
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(shots, "map-grid-zoomed.png") });
  await page.click("#map-fit");
  await page.emulateMedia({ colorScheme: "dark" });
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(shots, "map-grid-dark.png") });
  await noErrors(page);
});
