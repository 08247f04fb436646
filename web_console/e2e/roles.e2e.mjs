// Browser test of the console for a viewer (the tokens of LABFLEET_E2E_*, tests/browser/test_console.py): the
// robots and the queue are shown, every command is disabled with a title naming the role it needs, and the API
// refuses the viewer's mission (403); an access token that no longer works is refreshed without the login form;
// "Sign out" ends the session at the fleet manager, and it and a refused refresh bring the login form back.
// Screenshots viewer.png, signed-out.png.
// Usage: node e2e/roles.e2e.mjs BASE_URL SCREENSHOT_DIR
import { join } from "node:path";
import { allDisabled, args, authed, credentials, fail, withConsole } from "./browser.mjs";

const { base, shots } = args("roles.e2e.mjs");
const allRefused = (page, selector, what) => allDisabled(page, selector, what, "operator");

const signedIn = (page) => page.waitForSelector("[data-testid=user]:not([hidden])", { timeout: 15_000 });
const tokensKept = (page) => page.evaluate(() => [localStorage.getItem("labfleet.access_token"),
  localStorage.getItem("labfleet.refresh_token")]);

await withConsole(base, async (page) => {
  await signedIn(page);
  const who = [await page.textContent("[data-testid=user-name]"), await page.textContent("[data-testid=user-role]")];
  if (who.join() !== `${credentials.username},viewer`) fail(`the top bar shows ${who.join(" ")}`);
  if (await page.isVisible("[data-testid=login]")) fail("the login form is shown to a signed-in viewer");
  await page.waitForSelector("[data-testid=ws-status][data-state=live]", { timeout: 15_000 });
  await page.waitForSelector("tr[data-testid=robot-row]", { timeout: 15_000 });
  await page.waitForSelector("tr[data-testid=mission-row] button[data-action=cancel]", { timeout: 15_000 });

  await allRefused(page, "tr[data-testid=robot-row] button[data-command]", "robot commands");
  await allRefused(page, "tr[data-testid=mission-row] button", "mission actions");
  await allRefused(page, "form[data-testid=dispatch-form] button[type=submit]", "the dispatch button");
  await allRefused(page, "[data-testid=dispatch-toggle]", "the dispatch switch");
  // the API says the same: a viewer's mission is refused
  const refused = await page.request.post(new URL("api/v1/missions", base).href,
    { ...authed, data: { spec: { steps: [{ go_to: "pharmacy" }] } } });
  if (refused.status() !== 403) fail(`a viewer's mission: HTTP ${refused.status()} ${await refused.text()}`);
  await page.screenshot({ path: join(shots, "viewer.png") });

  // an access token the API no longer takes: the console refreshes it and stays signed in
  const [, refresh] = await tokensKept(page);
  await page.evaluate(() => localStorage.setItem("labfleet.access_token", "no.longer.valid"));
  await page.reload({ waitUntil: "domcontentloaded" });
  await signedIn(page);
  await page.waitForSelector("[data-testid=ws-status][data-state=live]", { timeout: 15_000 });
  const [access, renewed] = await tokensKept(page);
  if (!access || access === "no.longer.valid" || !renewed || renewed === refresh) {
    fail(`the tokens were not refreshed: ${access}, ${renewed}`);
  }
  if (await page.isVisible("[data-testid=login]")) fail("the login form came up although the refresh worked");
  console.log("an invalid access token was refreshed");

  // Sign out: the session ends at the fleet manager (POST /auth/logout), the tokens are gone and the login form is
  // shown
  const [, lastRefresh] = await tokensKept(page);
  await page.click("[data-testid=sign-out]");
  await page.waitForSelector("[data-testid=login]:not([hidden])", { timeout: 15_000 });
  if ((await tokensKept(page)).some((t) => t !== null)) fail("tokens kept after signing out");
  const ended = await page.request.post(new URL("api/v1/auth/refresh", base).href,
    { data: { refresh_token: lastRefresh } });
  if (ended.status() !== 401) fail(`the session lives on after signing out: HTTP ${ended.status()}`);
  if (await page.isVisible("[data-testid=user]")) fail("the top bar still shows a user after signing out");
  await page.screenshot({ path: join(shots, "signed-out.png") });

  // a refresh token the API refuses too: the login form, not the console
  await page.evaluate(() => {
    localStorage.setItem("labfleet.access_token", "no.longer.valid");
    localStorage.setItem("labfleet.refresh_token", "not.a.refresh.token");
  });
  await page.reload({ waitUntil: "domcontentloaded" });
  await page.waitForSelector("[data-testid=login]:not([hidden])", { timeout: 15_000 });
  if ((await tokensKept(page)).some((t) => t !== null)) fail("refused tokens were kept");
  console.log("signed out: the login form");
  const messages = await page.$$eval("[data-testid=message]", (els) => els.map((e) => e.textContent));
  if (messages.length) fail(`unexpected messages: ${messages.join("; ")}`);
});
