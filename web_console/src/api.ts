// The fleet manager's HTTP API, same origin, every request with the signed-in user's bearer token.
import { accessToken, refreshTokens, signedOut } from "./session";
import { lang, t, term } from "./i18n";

const BASE = "/api/v1";

/** A refusal from the API: the reason (naming the field) and the HTTP status. */
export class ApiError extends Error {
  /** `body`: the API's error answer as sent ({detail, field}), for views that place each error at its field. */
  constructor(message: string, readonly status: number, readonly body: unknown = null) {
    super(message);
  }
}

/** A 401 that a token refresh did not cure: the login form is shown, so callers need not report it. */
export class SignedOut extends ApiError {}

function describe(detail: unknown, field: unknown): string {
  if (typeof detail === "string") {
    // the message usually names the field already; if not, say which one it is about
    const last = typeof field === "string" ? field.split(".").pop() ?? field : "";
    return last && !detail.includes(last) ? `${field}: ${detail}` : detail;
  }
  if (Array.isArray(detail)) {
    return detail
      .map((d) => {
        const e = d as { loc?: unknown[]; msg?: string };
        const loc = (e.loc ?? []).filter((p) => p !== "body").join(".");
        return loc ? `${loc}: ${e.msg}` : String(e.msg);
      })
      .join("; ");
  }
  return JSON.stringify(detail);
}

/** A request with the token; on a 401 the token is refreshed once and the request sent again, and when that
 * does not help the session ends (the login form). `anonymous` requests (logging in) go without. */
async function send(path: string, init: RequestInit = {}, anonymous = false): Promise<Response> {
  const go = (token: string | null) => {
    const headers = new Headers(init.headers);
    if (typeof init.body === "string" && !headers.has("content-type")) headers.set("content-type", "application/json");
    if (token !== null && !anonymous) headers.set("authorization", `Bearer ${token}`);
    return fetch(BASE + path, { ...init, headers });
  };
  const token = accessToken();
  let response = await go(token);
  if (response.status !== 401 || anonymous) return response;
  if (token !== null && await refreshTokens(token)) response = await go(accessToken());
  if (response.status === 401) {
    const why = await failure(response, path);
    signedOut(why);
    throw new SignedOut(why, 401);
  }
  return response;
}

/** The API's reason for a refused request, as shown to people, and its answer's body. */
async function refusal(response: Response, path: string): Promise<{ why: string; body: unknown }> {
  const text = await response.text();
  let body: { detail?: unknown; field?: unknown; code?: unknown } | null = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  let why = body?.detail !== undefined ? describe(body.detail, body.field) : text || response.statusText || path;
  // the API's detail is English: in another language the problem's code says what kind of refusal it is
  if (lang() !== "en" && typeof body?.code === "string") why = `${term("problem", body.code)}: ${why}`;
  return { why: `${why} (HTTP ${response.status})`, body };
}

async function failure(response: Response, path: string): Promise<string> {
  return (await refusal(response, path)).why;
}

export async function api<T>(path: string, init?: RequestInit, anonymous = false): Promise<T> {
  const response = await send(path, init, anonymous);
  if (!response.ok) {
    const { why, body } = await refusal(response, path);
    throw new ApiError(why, response.status, body);
  }
  const text = await response.text();
  try {
    return (text ? JSON.parse(text) : null) as T;
  } catch {
    throw new ApiError(t("page.answer_not_json", { path }), response.status);
  }
}

export const post = <T>(path: string, body?: unknown) =>
  api<T>(path, { method: "POST", body: body === undefined ? undefined : JSON.stringify(body) });

export const patch = <T>(path: string, body: unknown) => api<T>(path, { method: "PATCH", body: JSON.stringify(body) });

export const remove = <T>(path: string) => api<T>(path, { method: "DELETE" });

/** The text to show for a failed request: the API's reason, or what went wrong on the way. */
export function reason(err: unknown): string {
  return err instanceof ApiError ? err.message : `request failed: ${(err as Error).message}`;
}

/** A file from the API (a recording, a report): a link cannot send the token, so it is fetched and handed
 * over as a blob, with the file name the API gives (Content-Disposition). */
export async function file(path: string): Promise<{ blob: Blob; name: string | null }> {
  const response = await send(path);
  if (!response.ok) throw new ApiError(await failure(response, path), response.status);
  const disposition = response.headers.get("content-disposition") ?? "";
  return { blob: await response.blob(), name: /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? null };
}

/** The live feed, with the token in the address (a browser cannot give a websocket a header). */
export function telemetryUrl(): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${BASE}/ws/telemetry`;
}

/** The live feed's subprotocols: the access token goes in the handshake's Sec-WebSocket-Protocol, never in the
 * URL (which servers and proxies log). */
export function telemetryProtocols(): string[] {
  return ["labfleet.bearer", accessToken() ?? "none"];
}

/** One error of a refused request and the field it names ("home", "model.max_speed"; null: the request as a
 * whole), from the API's problem `{detail, field}`, or each of its `errors: [{loc, msg}]`. */
export interface FieldError { field: string | null; message: string }

export function fieldErrors(err: unknown): FieldError[] {
  if (!(err instanceof ApiError) || typeof err.body !== "object" || err.body === null) return [];
  const { detail, field, errors } = err.body as { detail?: unknown; field?: unknown; errors?: unknown };
  const parts = Array.isArray(errors) ? errors : Array.isArray(detail) ? detail : null; // (problem+json: `errors`)
  if (parts === null) {
    return typeof detail === "string" ? [{ field: typeof field === "string" ? field : null, message: detail }] : [];
  }
  return parts.map((d) => {
    const e = d as { loc?: unknown[]; msg?: unknown };
    const loc = (e.loc ?? []).filter((p) => p !== "body").map(String);
    return { field: loc.length ? loc.join(".") : null, message: String(e.msg ?? "") };
  });
}
