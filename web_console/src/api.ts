// The fleet manager's HTTP API, same origin.
const BASE = "/api/v1";

/** A refusal from the API: the reason (naming the field) and the HTTP status. */
export class ApiError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

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

export async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(BASE + path, {
    ...init,
    headers: { "content-type": "application/json", ...(init?.headers ?? {}) },
  });
  const text = await response.text();
  let body: { detail?: unknown; field?: unknown } | null = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    if (response.ok) throw new ApiError(`${path}: the answer is not JSON`, response.status);
  }
  if (!response.ok) {
    const reason = body?.detail !== undefined ? describe(body.detail, body.field) : text || response.statusText;
    throw new ApiError(`${reason} (HTTP ${response.status})`, response.status);
  }
  return body as T;
}

export const post = <T>(path: string, body?: unknown) =>
  api<T>(path, { method: "POST", body: body === undefined ? undefined : JSON.stringify(body) });

/** The text to show for a failed request: the API's reason, or what went wrong on the way. */
export function reason(err: unknown): string {
  return err instanceof ApiError ? err.message : `request failed: ${(err as Error).message}`;
}

export function telemetryUrl(): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${BASE}/ws/telemetry`;
}
