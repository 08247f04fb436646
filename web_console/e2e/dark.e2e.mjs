// Browser test of dark mode (issue 18), tests/browser/test_console.py: with the system set to dark, the console
// draws dark panels on a dark page with light text, and its text keeps WCAG AA contrast (4.5:1) on the panels,
// the page and the top bar; with the system set to light it is light. Screenshot dark.png.
// Usage: node e2e/dark.e2e.mjs BASE_URL SCREENSHOT_DIR
import { join } from "node:path";
import { args, fail, waitLive, withConsole } from "./browser.mjs";

const { base, shots } = args("dark.e2e.mjs");

/** The page's colours as the browser computed them, with their relative luminance and contrast ratios. */
async function colours(page) {
  return page.evaluate(() => {
    const rgb = (css) => (css.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
    const lum = ([r, g, b]) => {
      const c = [r, g, b].map((v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; });
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    const style = (sel, prop) => rgb(getComputedStyle(document.querySelector(sel))[prop]);
    const page = style("body", "backgroundColor").some((v) => v > 0) ? style("body", "backgroundColor")
      : style("html", "backgroundColor");
    const panel = style(".panel", "backgroundColor");
    const ink = style("body", "color");
    const muted = style(".hint", "color");
    return { page: lum(page), panel: lum(panel), ink: lum(ink), onPanel: contrast(ink, panel), onPage: contrast(ink, page),
      mutedOnPanel: contrast(muted, panel), top: contrast(style(".topbar", "color"), style(".topbar", "backgroundColor")) };
  });
}

await withConsole(base, async (page) => {
  await waitLive(page);
  await page.waitForSelector("tr[data-testid=robot-row]", { timeout: 15_000 });
  const dark = await colours(page);
  console.log(`dark: ${JSON.stringify(dark, (k, v) => (typeof v === "number" ? Number(v.toFixed(3)) : v))}`);
  if (dark.panel > 0.05 || dark.ink < 0.5) fail(`not dark: ${JSON.stringify(dark)}`);
  for (const [name, ratio] of [["text on panels", dark.onPanel], ["text on the page", dark.onPage],
    ["muted text on panels", dark.mutedOnPanel], ["the top bar", dark.top]]) {
    if (ratio < 4.5) fail(`dark mode: ${name} at ${ratio.toFixed(2)}:1, under WCAG AA's 4.5:1`);
  }
  await page.screenshot({ path: join(shots, "dark.png"), fullPage: true });
  await page.emulateMedia({ colorScheme: "light" });
  const light = await colours(page);
  if (light.panel < 0.8 || light.ink > 0.1) fail(`the light scheme is not light: ${JSON.stringify(light)}`);
  if (light.onPanel < 4.5 || light.mutedOnPanel < 4.5) fail(`light mode contrast: ${JSON.stringify(light)}`);
  console.log("light: panels light, text dark, AA contrast");
}, { colorScheme: "dark" });
