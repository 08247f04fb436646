// Shared by the browser tests: Debian Chromium through playwright-core (no browser is downloaded).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export function fail(message) {
  throw new Error(message);
}

// The lab's admin, logged in by the Python test (tests/browser), which hands over the tokens and the credentials
// in the environment: the console is given the tokens in localStorage before it loads, as if its user had signed
// in (or signs in through its form, see signInWithForm); `authed` sends the token with page.request.
const env = process.env;
export const tokens = { access: env.LABFLEET_E2E_ACCESS_TOKEN ?? "", refresh: env.LABFLEET_E2E_REFRESH_TOKEN ?? "" };
export const credentials = { username: env.LABFLEET_E2E_USERNAME ?? "admin", password: env.LABFLEET_E2E_PASSWORD ?? "" };
export const authed = { headers: { authorization: `Bearer ${tokens.access}` } };

/** Signs in through the console's login form: a wrong password is refused there first. Screenshots login.png
 * (the form) and signed-in.png (the console with the signed-in user in its top bar). */
export async function signInWithForm(page, shots) {
  await page.waitForSelector("[data-testid=login]:not([hidden])", { timeout: 15_000 });
  if (await page.isVisible("[data-testid=user]")) fail("the top bar shows a user before anyone signed in");
  await page.fill("#login-username", credentials.username);
  await page.fill("#login-password", `${credentials.password}-wrong`);
  await page.click("[data-testid=login-submit]");
  await page.waitForSelector("[data-testid=login-error]:not([hidden])", { timeout: 10_000 });
  const refused = await page.textContent("[data-testid=login-error]");
  console.log(`wrong password refused: ${refused}`);
  if (!refused.includes("401")) fail(`a wrong password was not refused with a 401: ${refused}`);
  await page.screenshot({ path: join(shots, "login.png") });
  await page.fill("#login-password", credentials.password);
  await page.click("[data-testid=login-submit]");
  await page.waitForSelector("[data-testid=login]", { state: "hidden", timeout: 10_000 });
  const user = await page.textContent("[data-testid=user]");
  console.log(`top bar: ${user.replace(/\s+/g, " ").trim()}`);
  if (await page.textContent("[data-testid=user-name]") !== credentials.username) fail(`signed in as: ${user}`);
  const stored = await page.evaluate(() => [localStorage.getItem("labfleet.access_token"),
    localStorage.getItem("labfleet.refresh_token")]);
  if (!stored[0] || !stored[1]) fail("the console did not keep the access and refresh tokens");
}

/** The lab's API at `path` (relative to /api/v1/) with the admin's token: the parsed JSON, or a failure. */
export async function apiJson(page, base, path, { method = "GET", data } = {}) {
  const response = await page.request.fetch(new URL(`api/v1/${path}`, base).href, { ...authed, method, data });
  if (!response.ok()) fail(`${method} /${path}: HTTP ${response.status()} ${await response.text()}`);
  return response.json();
}

/** Waits until the live feed is connected. */
export const waitLive = (page) => page.waitForSelector("[data-testid=ws-status][data-state=live]", { timeout: 15_000 });

/** The messages of the message area (kind "error" or "info"; both when not given). */
export const messages = (page, kind = "") => page.$$eval(`[data-testid=message]${kind ? `.message-${kind}` : ""}`,
  (els) => els.map((e) => e.textContent));

/** Fails when the message area shows an error. */
export async function noErrors(page) {
  const errors = await messages(page, "error");
  if (errors.length) fail(`unexpected messages: ${errors.join("; ")}`);
}

/** Every control matching `selector` is disabled, its title naming the role it needs (`session.ts` gate()). */
export async function allDisabled(page, selector, what, role) {
  const controls = await page.$$eval(selector, (els) => els.map((e) => ({ disabled: e.disabled, title: e.title,
    text: e.textContent })));
  if (!controls.length) fail(`no ${what} to check`);
  const open = controls.filter((c) => !c.disabled || !c.title.includes(`needs the ${role} role`));
  if (open.length) fail(`${what}: ${open.length} of ${controls.length} not refused: ${JSON.stringify(open)}`);
  console.log(`${what}: ${controls.length} disabled (“${controls[0].title}”)`);
}

/** Reads BASE_URL and SCREENSHOT_DIR from the command line, or exits with the usage. */
export function args(script, usage = "") {
  const [base, shots, ...rest] = process.argv.slice(2);
  if (!base || !shots) {
    console.error(`usage: node e2e/${script} BASE_URL SCREENSHOT_DIR${usage ? ` ${usage}` : ""}`);
    process.exit(2);
  }
  return { base, shots, rest };
}

/** Runs body(page) in a fresh headless Chromium; exits 1 with the reason if it throws or the page had errors.
 * options: `signIn: "form"` to leave the console signed out (the body signs in), `tokens` ({access, refresh}) to sign
 * in as another user than the admin, and extra browser context options, e.g. {timezoneId} to run the console in
 * another time zone. */
export async function withConsole(base, body, { signIn = "tokens", tokens: given = tokens, ...options } = {}) {
  if (signIn !== "form" && !given.access) fail("no token: LABFLEET_E2E_ACCESS_TOKEN is not set (tests/browser sets it)");
  const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "labfleet-chromium-")), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
    ...options,
  });
  if (signIn !== "form") {
    // once per tab, so that a reload after "Sign out" finds the console signed out
    await browser.addInitScript(({ access, refresh }) => {
      try {
        if (sessionStorage.getItem("labfleet.e2e.signed-in")) return;
        sessionStorage.setItem("labfleet.e2e.signed-in", "1");
        localStorage.setItem("labfleet.access_token", access);
        localStorage.setItem("labfleet.refresh_token", refresh);
      } catch {
        // a page without storage (about:blank): nothing to sign in
      }
    }, given);
  }
  let code = 0;
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    const errors = [];
    page.on("pageerror", (err) => errors.push(String(err)));
    await page.goto(base, { waitUntil: "domcontentloaded" });
    await body(page);
    if (errors.length) fail(`page errors: ${errors.join("; ")}`);
  } catch (err) {
    console.error(`console test failed: ${err.stack ?? err.message}`);
    code = 1;
  } finally {
    await browser.close();
  }
  process.exit(code);
}
