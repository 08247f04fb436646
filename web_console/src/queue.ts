// The mission queue: newest missions first with their actions, and the queue-wide dispatch switch.
import { api, post, reason } from "./api";
import { missionButtons } from "./actions";
import { describeStep } from "./detail";
import { $, badge, cell, clock, coalesce, text } from "./dom";
import { t, term } from "./i18n";
import { reportError } from "./messages";
import { gate } from "./session";
import { awaitingStep, LIST_LIMIT, type MissionStore } from "./store";
import type { DispatchState, Mission, Step } from "./types";

const RUNNING = new Set(["assigned", "underway", "paused"]);

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

export class QueueView {
  private selected: number | null = null;
  readonly render = coalesce(() => this.draw());

  constructor(private store: MissionStore, private onSelect: (id: number) => void) {
    store.onChange(() => this.render());
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
    const template = cell(text("div", m.template ?? t("operations.inline_spec")),
      text("div", t("operations.steps_done", { done, total: m.steps.length }), "sub"));
    const status = cell(badge(m.status));
    const waiting = awaitingStep(m);
    if (waiting) {
      status.append(text("div", t("operations.step_awaits_confirmation", { index: waiting.index }), "sub attention"));
    }
    if (m.failure_reason) {
      status.append(text("div", m.failure_reason, "sub failure reason"));
    } else if (m.status_reason && (m.status === "paused" || m.status === "queued")) {
      status.append(text("div", m.status_reason, "sub attention reason")); // why it is held, paused or requeued
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
      step, goal, robot, created, actions);
    return tr;
  }

  private draw(): void {
    const missions = this.store.newest();
    $("#missions tbody").replaceChildren(...missions.map((m) => this.row(m)));
    $<HTMLElement>("#queue-empty").hidden = missions.length > 0;
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
