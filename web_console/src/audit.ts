// The audit view (admins only): who did what, when, from where and with what outcome (GET /audit), newest
// first, filtered by user and outcome, refreshed with a button. The log is append-only: nothing here edits it.
import { api, reason } from "./api";
import { $, cell, clock, text } from "./dom";
import { t, term } from "./i18n";
import { can, currentUser } from "./session";

export const AUDIT_HASH = /^#\/audit\/?$/;
const OUTCOMES = ["ok", "refused", "invalid", "error"] as const;
const LIMIT = 200;
// colours of the mission badges: green, orange, brown, red
const OUTCOME_CLASS: Record<string, string> = {
  ok: "status-completed", refused: "status-paused", invalid: "status-canceled", error: "status-failed",
};

export interface AuditEntry {
  id: number;
  at: string;
  username: string | null;
  role: string | null;
  client: string | null;
  method: string;
  path: string;
  action: string;
  target: string;
  status_code: number | null;
  outcome: string;
  detail: string;
}

function row(entry: AuditEntry): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.testid = "audit-row";
  tr.dataset.outcome = entry.outcome;
  tr.title = entry.detail ? `${entry.path}: ${entry.detail}` : entry.path;
  const at = cell(clock(entry.at));
  at.title = entry.at;
  at.className = "mono";
  const outcome = text("span", term("audit.outcome", entry.outcome),
    `badge ${OUTCOME_CLASS[entry.outcome] ?? ""}`.trim());
  outcome.dataset.outcome = entry.outcome;
  tr.append(
    at,
    cell(entry.username ?? t("audit.anonymous")),
    cell(entry.role === null ? "–" : term("role", entry.role)),
    cell(text("span", entry.client ?? "–", "mono")),
    cell(text("span", entry.action, "mono")),
    cell(text("span", entry.target || "–", "mono")),
    cell(outcome),
    cell(entry.status_code === null ? "–" : String(entry.status_code)),
  );
  return tr;
}

export class AuditView {
  private readonly root = $<HTMLElement>("#audit-view");
  private readonly form: HTMLFormElement;
  private readonly rows: HTMLTableSectionElement;
  private readonly note: HTMLElement;

  constructor() {
    $<HTMLElement>("#nav-audit").hidden = !can("admin");
    this.form = document.createElement("form");
    this.form.className = "audit-filters";
    this.form.dataset.testid = "audit-filters";
    const user = document.createElement("input");
    user.name = "username";
    user.placeholder = t("audit.any_user");
    user.maxLength = 200;
    user.dataset.testid = "audit-user";
    const outcome = document.createElement("select");
    outcome.name = "outcome";
    outcome.dataset.testid = "audit-outcome";
    outcome.append(new Option(t("audit.any_outcome"), ""),
      ...OUTCOMES.map((o) => new Option(term("audit.outcome", o), o)));
    outcome.addEventListener("change", () => void this.load());
    const refresh = text("button", t("audit.refresh")) as HTMLButtonElement;
    refresh.type = "submit";
    refresh.dataset.testid = "audit-refresh";
    const line = text("div", "", "row");
    const userLabel = text("label", `${t("audit.label_user")} `);
    userLabel.append(user);
    const outcomeLabel = text("label", `${t("audit.label_outcome")} `);
    outcomeLabel.append(outcome);
    line.append(userLabel, outcomeLabel, refresh);
    this.form.append(line);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.load();
    });

    const table = document.createElement("table");
    table.className = "grid audit";
    table.dataset.testid = "audit-table";
    const head = document.createElement("tr");
    head.append(...[t("audit.col_time"), t("audit.col_user"), t("audit.col_role"), t("audit.col_from"),
      t("audit.col_action"), t("audit.col_target"), t("audit.col_outcome"), t("audit.col_status")]
      .map((h) => text("th", h)));
    table.createTHead().append(head);
    this.rows = table.createTBody();
    this.note = text("p", "", "hint");
    this.note.dataset.testid = "audit-note";

    const section = text("section", "", "panel");
    section.append(text("h2", t("audit.title")), this.form, this.note, table);
    this.root.replaceChildren(section);
  }

  show(): void {
    this.root.hidden = false;
    void this.load();
  }

  hide(): void {
    this.root.hidden = true;
  }

  /** The newest entries matching the filters. */
  async load(): Promise<void> {
    if (!can("admin")) {
      const me = currentUser();
      this.rows.replaceChildren();
      this.note.textContent = me ? t("audit.admins_only_user", { user: me.username, role: term("role", me.role) })
        : t("audit.admins_only");
      return;
    }
    const data = new FormData(this.form);
    const query = new URLSearchParams({ limit: String(LIMIT) });
    const username = String(data.get("username") ?? "").trim();
    const outcome = String(data.get("outcome") ?? "");
    if (username) query.set("username", username);
    if (outcome) query.set("outcome", outcome);
    this.root.dataset.state = "loading";
    try {
      const entries = await api<AuditEntry[]>(`/audit?${query}`);
      this.rows.replaceChildren(...entries.map(row));
      this.note.textContent = entries.length === 0 ? t("audit.no_entries")
        : entries.length === LIMIT ? t("audit.newest_limit", { limit: LIMIT })
        : t("audit.count", { count: entries.length });
    } catch (err) {
      this.note.textContent = t("audit.load_failed", { reason: reason(err) });
    } finally {
      this.root.dataset.state = "ready";
    }
  }
}
