// The mission queue: newest missions first with their actions, and the queue-wide dispatch switch. A running
// mission's ETA is the server's estimate (GET /missions: remaining_s, eta), read again every ETA_POLL_MS.
import { api, post, reason } from "./api";
import { missionButtons } from "./actions";
import { describeStep, failureReason, statusReason } from "./detail";
import { $, badge, cell, clock, coalesce, option, parseTime, text } from "./dom";
import { t, term } from "./i18n";
import { reportError } from "./messages";
import { gate } from "./session";
import { awaitingStep, LIST_LIMIT, type MissionStore } from "./store";
import type { DispatchState, Mission, Step } from "./types";

const RUNNING = new Set(["assigned", "underway", "paused"]);
const ETA_POLL_MS = 15_000;

/** A running mission's estimated end, as the server last gave it. */
interface Estimate { eta: string; remaining_s: number }

/** The step a mission is at: the one under way, else (running) the next to do; none before or after it runs. */
export function currentStep(m: Mission): Step | undefined {
  if (!RUNNING.has(m.status)) return undefined;
  return m.steps.find((s) => ["active", "awaiting_confirmation", "retrying"].includes(s.status))
    ?? m.steps.find((s) => s.status === "pending");
}

/** Where the mission ends up: the place (or cleaning zone) of its last drive. */
export function destination(m: Mission): string {
  for (let i = m.steps.length - 1; i >= 0; i--) {
    const s = m.steps[i];
    if (s.target && (s.kind === "go_to" || s.kind === "dock")) return s.target;
    if (s.kind === "cover" && s.zone) return s.zone;
    if (s.kind === "patrol" && s.places?.length) return s.places[s.places.length - 1];
  }
  return "–";
}

export async function loadMissions(store: MissionStore): Promise<void> {
  const mark = store.mark();
  store.replaceAll(await api<Mission[]>(`/missions?limit=${LIST_LIMIT}`), mark);
}

const STATUSES = ["queued", "assigned", "underway", "paused", "completed", "failed", "canceled"];

/** The queue's filters: status ("open": not ended), robot, template and a text found anywhere in the row. */
export interface QueueFilter { status: string; robot: string; template: string; text: string }

export function matches(m: Mission, f: QueueFilter): boolean {
  if (f.status === "open" ? !RUNNING.has(m.status) && m.status !== "queued" : f.status && m.status !== f.status) {
    return false;
  }
  if (f.robot && m.robot_id !== f.robot && m.requested_robot_id !== f.robot) return false;
  if (f.template && (m.template ?? "") !== f.template) return false;
  const words = f.text.trim().toLowerCase();
  if (!words) return true;
  const hay = [String(m.id), m.template, m.robot_id, m.requested_robot_id, m.status, m.priority, destination(m),
    m.failure_reason, m.status_reason, ...m.steps.map((s) => s.target ?? s.action ?? s.zone ?? "")]
    .filter(Boolean).join(" ").toLowerCase();
  const tokens = new Set(hay.split(/[\s,/>]+/));
  // a number is a mission id (or a whole word), not any digit in a name: "2" is not delivery_2
  return words.split(/\s+/).every((w) => (/^\d+$/.test(w) ? tokens.has(w) : hay.includes(w)));
}

export class QueueView {
  private selected: number | null = null;
  private filter: QueueFilter = { status: "", robot: "", template: "", text: "" };
  private estimates = new Map<number, Estimate>();
  readonly render = coalesce(() => this.draw());

  constructor(private store: MissionStore, private onSelect: (id: number) => void) {
    store.onChange(() => this.render());
    void this.readEstimates();
    setInterval(() => { if (!document.hidden) void this.readEstimates(); }, ETA_POLL_MS);
    const status = $<HTMLSelectElement>("#queue-filter-status");
    status.replaceChildren(option("", t("operations.filter_any_status")), option("open", t("operations.filter_open")),
      ...STATUSES.map((s) => option(s, term("status", s))));
    for (const [id, key] of [["#queue-filter-status", "status"], ["#queue-filter-robot", "robot"],
      ["#queue-filter-template", "template"], ["#queue-filter-text", "text"]] as const) {
      $<HTMLInputElement | HTMLSelectElement>(id).addEventListener("input", (e) => {
        this.filter = { ...this.filter, [key]: (e.target as HTMLInputElement).value };
        this.render();
      });
    }
  }

  /** The robot and template choices: those of the missions listed, the chosen one kept. */
  private choices(missions: Mission[]): void {
    const fill = (id: string, values: string[], any: string, chosen: string) => {
      const select = $<HTMLSelectElement>(id);
      const wanted = [...new Set([...values, ...(chosen ? [chosen] : [])])].sort();
      if (select.options.length === wanted.length + 1 && wanted.every((v, i) => select.options[i + 1].value === v)) return;
      select.replaceChildren(option("", any), ...wanted.map((v) => option(v, v)));
      select.value = chosen;
    };
    fill("#queue-filter-robot", missions.flatMap((m) => [m.robot_id, m.requested_robot_id])
      .filter((r): r is string => !!r), t("operations.filter_any_robot"), this.filter.robot);
    fill("#queue-filter-template", missions.map((m) => m.template).filter((v): v is string => !!v),
      t("operations.filter_any_template"), this.filter.template);
  }

  /** The running missions' estimates, read again (the live feed's mission frames carry none). */
  private async readEstimates(): Promise<void> {
    let running: Mission[];
    try {
      running = await api<Mission[]>(`/missions?status=assigned&status=underway&status=paused&limit=${LIST_LIMIT}`);
    } catch {
      return; // read again at the next poll; a lost connection is reported by the live feed and dispatch state
    }
    this.estimates = new Map(running.filter((m) => m.eta && m.remaining_s != null)
      .map((m) => [m.id, { eta: m.eta as string, remaining_s: m.remaining_s as number }]));
    this.render();
  }

  /** When the mission should end: the clock time in the site's zone, and how long from now. */
  private eta(m: Mission): HTMLTableCellElement {
    const known = this.estimates.get(m.id)
      ?? (m.eta && m.remaining_s != null ? { eta: m.eta, remaining_s: m.remaining_s } : undefined);
    const e = RUNNING.has(m.status) ? known : undefined;
    const td = cell(text("span", e ? clock(e.eta) : "–", "mono"));
    td.dataset.testid = "mission-eta";
    if (!e) return td;
    const minutes = Math.round((parseTime(e.eta).getTime() - Date.now()) / 60_000);
    td.append(text("div", m.status === "paused" ? t("operations.eta_held")
      : minutes < 1 ? t("operations.eta_under_minute") : t("operations.eta_in", { minutes }), "sub"));
    td.title = t("operations.eta_basis");
    td.dataset.eta = e.eta;
    return td;
  }

  select(id: number | null): void {
    this.selected = id;
    this.render();
  }

  private row(m: Mission): HTMLTableRowElement {
    const tr = document.createElement("tr");
    tr.dataset.testid = "mission-row";
    tr.dataset.missionId = String(m.id);
    tr.dataset.status = m.status;
    tr.tabIndex = 0;
    if (m.id === this.selected) tr.classList.add("selected");
    tr.addEventListener("click", () => this.onSelect(m.id));
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") this.onSelect(m.id); });

    const done = m.steps.filter((s) => s.status === "done").length;
    const template = cell(text("div", m.template ?? t(m.move_aside ? "operations.move_aside" : "operations.inline_spec")),
      text("div", t("operations.steps_done", { done, total: m.steps.length }), "sub"));
    const status = cell(badge(m.status));
    const waiting = awaitingStep(m);
    if (waiting) {
      status.append(text("div", t("operations.step_awaits_confirmation", { index: waiting.index }), "sub attention"));
    }
    if (m.failure_reason) {
      status.append(text("div", failureReason(m), "sub failure reason"));
    } else if (m.status_reason && (m.status === "paused" || m.status === "queued")) {
      status.append(text("div", statusReason(m), "sub attention reason")); // why it is held, paused or requeued
    }
    const at = currentStep(m);
    const step = cell(at ? text("span", `${at.index + 1}/${m.steps.length} ${term("operations.step_kind", at.kind)}`)
      : text("span", "–"));
    if (at) step.append(text("div", describeStep(at), "sub"));
    step.dataset.testid = "mission-step";
    const goal = cell(text("span", destination(m), "mono"));
    goal.dataset.testid = "mission-destination";
    const created = cell(clock(m.created_at));
    if (m.not_before) {
      created.append(text("div", t("operations.not_before_time", { time: clock(m.not_before) }), "sub"));
    }
    const robot = cell(text("span", m.robot_id ?? "–", "mono"));
    if (!m.robot_id && m.requested_robot_id) {
      robot.append(text("div", t("operations.requested_robot", { robot: m.requested_robot_id }), "sub"));
    }
    const actions = cell(...missionButtons(this.store, m));
    actions.className = "actions";
    tr.append(cell(text("span", String(m.id), "mono")), template, cell(badge(m.priority, "priority")), status,
      step, goal, robot, created, this.eta(m), actions);
    return tr;
  }

  private draw(): void {
    const missions = this.store.newest();
    this.choices(missions);
    const shown = missions.filter((m) => matches(m, this.filter));
    $("#missions tbody").replaceChildren(...shown.map((m) => this.row(m)));
    $<HTMLElement>("#queue-empty").hidden = missions.length > 0;
    const count = $<HTMLElement>("#queue-filter-count");
    count.textContent = shown.length === missions.length ? ""
      : t("operations.filter_shown", { shown: shown.length, total: missions.length });
    count.dataset.shown = String(shown.length);
  }
}

/** The queue-wide switch: while dispatch is paused no new mission is assigned; those in flight go on. */
export class DispatchSwitch {
  private paused: boolean | null = null;
  private lastError = ""; // a failing poll is reported once, not every time
  private button = $<HTMLButtonElement>("#dispatch-toggle");
  private label = $<HTMLElement>("#dispatch-state");

  constructor() {
    this.button.addEventListener("click", () => void this.toggle());
    gate(this.button, "operator");
  }

  async refresh(): Promise<void> {
    try {
      this.show((await api<DispatchState>("/dispatch")).paused);
      this.lastError = "";
    } catch (err) {
      this.show(null);
      const why = reason(err);
      if (why !== this.lastError) reportError(t("operations.reading_dispatch_state"), err);
      this.lastError = why;
    }
  }

  private async toggle(): Promise<void> {
    const verb = this.paused ? "resume" : "pause";
    this.button.disabled = true;
    try {
      const state = await post<DispatchState | null>(`/dispatch/${verb}`);
      this.show(state && typeof state.paused === "boolean" ? state.paused : verb === "pause");
    } catch (err) {
      reportError(verb === "pause" ? t("operations.pausing_dispatch") : t("operations.resuming_dispatch"), err);
      await this.refresh();
    } finally {
      this.button.disabled = false;
      gate(this.button, "operator");
    }
  }

  private show(paused: boolean | null): void {
    this.paused = paused;
    const state = paused === null ? "unknown" : paused ? "paused" : "running";
    this.label.dataset.state = state;
    this.label.textContent = paused === null ? t("operations.dispatch_state_unknown")
      : paused ? t("operations.dispatch_paused") : t("operations.dispatch_running");
    this.button.textContent = paused ? t("operations.resume_dispatch") : t("operations.pause_dispatch");
    this.button.dataset.action = paused ? "resume" : "pause";
  }
}
