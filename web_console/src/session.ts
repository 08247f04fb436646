// Who is signed in: the token pair of POST /auth/token kept in localStorage, refreshed (once, shared by every
// request that met a 401 meanwhile) with POST /auth/refresh, and the user's role (GET /auth/me) that decides
// which buttons the console offers. A refresh token is used once: each refresh keeps the next one, and the tabs
// of the console refresh one at a time (a spent refresh token presented again ends the session everywhere).
import { t, term } from "./i18n";
const BASE = "/api/v1";
export const ACCESS_KEY = "labfleet.access_token";
export const REFRESH_KEY = "labfleet.refresh_token";

/** The roles in order: each may do what the ones before it may (fleet_manager/auth). */
export const ROLES = ["viewer", "researcher", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];
export interface Me { username: string; role: Role; sites: string[] }
export interface TokenPair { access_token: string; refresh_token: string; token_type: string; expires_in: number }

let me: Me | null = null;
let refreshing: Promise<boolean> | null = null;
const signedOutListeners: ((why: string) => void)[] = [];
let signedInWaiters: (() => void)[] = [];

export function accessToken(): string | null {
  return localStorage.getItem(ACCESS_KEY);
}

export function keepTokens(pair: TokenPair): void {
  localStorage.setItem(ACCESS_KEY, pair.access_token);
  localStorage.setItem(REFRESH_KEY, pair.refresh_token);
  const waiting = signedInWaiters;
  signedInWaiters = [];
  for (const resolve of waiting) resolve();
}

export function clearTokens(): void {
  localStorage.removeItem(ACCESS_KEY);
  localStorage.removeItem(REFRESH_KEY);
}

/** A new token pair for the refresh token kept; true when one is stored. `stale` is the access token the
 * caller was refused with: when it was replaced meanwhile (another request refreshed), nothing is asked. */
export function refreshTokens(stale: string | null): Promise<boolean> {
  const current = accessToken();
  if (current !== null && current !== stale) return Promise.resolve(true);
  refreshing ??= (async () => {
    try {
      return await oneTabAtATime(() => refreshOnce(stale));
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** `work` while no other tab of the console refreshes (Web Locks; a page served over plain HTTP from another
 * host has none, and its tabs take their chance). */
async function oneTabAtATime(work: () => Promise<boolean>): Promise<boolean> {
  const locks: LockManager | undefined = navigator.locks;
  return locks ? await locks.request("labfleet.refresh", work) : await work();
}

/** The refresh itself, unless another tab refreshed while this one waited (the pair it kept is the newest). */
async function refreshOnce(stale: string | null): Promise<boolean> {
  const current = accessToken();
  if (current !== null && current !== stale) return true;
  const refresh = localStorage.getItem(REFRESH_KEY);
  if (!refresh) return false;
  try {
    const response = await fetch(`${BASE}/auth/refresh`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: refresh }),
    });
    if (!response.ok) return false;
    keepTokens(await response.json() as TokenPair);
    return true;
  } catch {
    return false;
  }
}

/** Signing out: the fleet manager ends the session (POST /auth/logout: its tokens are refused from then on, in
 * every tab), its access token refreshed first when it has expired; then the tokens kept are dropped, also when
 * the fleet manager cannot be reached. */
export async function logOut(): Promise<void> {
  const send = (access: string, refresh: string) => fetch(`${BASE}/auth/logout`, {
    method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${access}` },
    body: JSON.stringify({ refresh_token: refresh }),
  });
  try {
    const access = accessToken();
    const refresh = localStorage.getItem(REFRESH_KEY);
    if (access === null || refresh === null) return;
    const response = await send(access, refresh);
    if (response.status === 401 && await refreshTokens(access)) {
      const [renewed, next] = [accessToken(), localStorage.getItem(REFRESH_KEY)];
      if (renewed !== null && next !== null) await send(renewed, next);
    }
  } catch {
    // out of reach: the session lives on at the fleet manager until its tokens expire
  } finally {
    clearTokens();
  }
}

/** The session ended (no token, or the API refused it and its refresh): the tokens are dropped and the
 * listeners (the login form) told why. */
export function signedOut(why: string): void {
  clearTokens();
  for (const listener of signedOutListeners) listener(why);
}

export function onSignedOut(listener: (why: string) => void): void {
  signedOutListeners.push(listener);
}

/** Resolves once a token is stored (at once when there is one). */
export function whenSignedIn(): Promise<void> {
  if (accessToken() !== null) return Promise.resolve();
  return new Promise((resolve) => signedInWaiters.push(resolve));
}

export function setUser(user: Me | null): void {
  me = user;
}

export function currentUser(): Me | null {
  return me;
}

/** Whether the signed-in user's role is `needed` or above. */
export function can(needed: Role): boolean {
  return me !== null && ROLES.indexOf(me.role) >= ROLES.indexOf(needed);
}

function refusal(needed: Role): string {
  const who = me ? t(/^[aeiou]/.test(me.role) ? "login.user_is_an" : "login.user_is_a",
    { user: me.username, role: term("role", me.role) }) : t("login.not_signed_in");
  return t("login.needs_role", { role: term("role", needed), who });
}

/** Disables a control the user's role may not use, its title naming the role needed; true when allowed. */
export function gate(control: HTMLButtonElement | HTMLInputElement | HTMLSelectElement, needed: Role): boolean {
  if (can(needed)) return true;
  control.disabled = true;
  control.title = refusal(needed);
  control.dataset.needs = needed;
  return false;
}

/** The same for a link: it loses its target and is shown disabled. */
export function gateLink(link: HTMLAnchorElement, needed: Role): boolean {
  if (can(needed)) return true;
  link.removeAttribute("href");
  link.classList.add("disabled");
  link.setAttribute("aria-disabled", "true");
  link.title = refusal(needed);
  link.dataset.needs = needed;
  return false;
}
