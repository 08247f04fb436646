// One mission in full: summary, the step timeline and the event list, kept live from the websocket.
import { api } from "./api";
import { missionButtons } from "./actions";
import { $, badge, cell, clock, coalesce, parseTime, text } from "./dom";
import { t, term } from "./i18n";
import { reportError } from "./messages";
import { missionEnergy } from "./mission_energy";
import { gateLink } from "./session";
import { promptText, type MissionStore } from "./store";
import type { Frame, Mission, MissionEvent, Step } from "./types";

const pairs = (values: Record<string, unknown> | undefined) =>
  Object.entries(values ?? {}).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ");

/** What a step does, in a few words. */
export function describeStep(s: Step): string {
  switch (s.kind) {
    case "go_to": case "dock": return `→ ${s.target ?? "?"}`;
    case "action": return `${s.action ?? "?"}${s.params && Object.keys(s.params).length ? ` (${pairs(s.params)})` : ""}`;
    case "wait": return t("operations.seconds", { value: s.seconds ?? "?" });
    case "confirm": return s.timeout != null
      ? t("operations.step_confirm_within", { prompt: promptText(s), timeout: s.timeout })
      : t("operations.step_confirm", { prompt: promptText(s) });
    case "cover": return s.spacing != null
      ? t("operations.step_cover_spacing", { zone: s.zone ?? "?", spacing: s.spacing })
      : t("operations.step_cover", { zone: s.zone ?? "?" });
    case "patrol": return `${(s.places ?? []).join(" → ")} × ${s.repeat ?? 1}`;
    default: return s.target ?? s.action ?? "";
  }
}

type Params = Record<string, unknown> | null | undefined;

/** What a mission event says, in the console's language: its code's message ("events.<code>"), its params filled
 * (a coded reason among them translated too); the fleet manager's English when the code is unknown or absent. */
export function eventText(code: string | null | undefined, params: Params, english: string): string {
  if (!code) return english;
  const key = `events.${code}`;
  const values: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(params ?? {})) values[name] = paramText(value);
  const said = t(key, values);
  return said === key ? english : said;
}

/** Why the mission has its status (held, paused, requeued), in the reader's language when the text is known. */
export function statusReason(m: Mission): string {
  return m.status_reason ? eventText(m.status_code, m.status_params, m.status_reason) : "";
}

/** Why the mission failed, in the reader's language when the reason is a known one. */
export function failureReason(m: Mission): string {
  return m.failure_reason ? eventText(m.failure_code, m.failure_params, m.failure_reason) : "";
}

function paramText(value: unknown): string | number {
  if (typeof value === "string" || typeof value === "number") return value;
  if (value && typeof value === "object" && typeof (value as { code?: unknown }).code === "string") {
    const coded = value as { code: string; params?: Params };
    return eventText(coded.code, coded.params, coded.code.replaceAll("_", " "));
  }
  return JSON.stringify(value);
}

function eventKey(e: MissionEvent): string {
  return `${parseTime(e.time).getTime()}|${e.kind}|${e.step_index ?? ""}`;
}

/** The event a live frame stands for, shaped like the ones GET /missions/{id} lists. */
export function frameEvent(frame: Frame): MissionEvent | null {
  if (frame.type === "mission_event") {
    return { time: frame.time, sim_time: frame.sim_time, kind: "status", status: frame.status, step_index: null,
      message: frame.message, code: frame.code, params: frame.params };
  }
  if (frame.type === "mission_step" && frame.status) {
    // the fleet manager's own wording of this event, as GET /missions/{id} lists it (its code translates it)
    return { time: frame.time, sim_time: frame.sim_time, kind: "step", status: frame.status,
      step_index: frame.step_index,
      message: `step ${frame.step_index} ${frame.status}${frame.message ? `: ${frame.message}` : ""}`,
      code: frame.code, params: frame.params };
  }
  if (frame.type === "mission_step" || frame.type === "mission_info") {
    return { time: frame.time, sim_time: frame.sim_time, kind: "info", status: null, step_index: frame.step_index,
      message: frame.message, code: frame.code, params: frame.params };
  }
  return null;
}

/** "Play back" and "Re-simulate" for a mission that ran and ended: its recording is complete
 * (GET /missions/{id}/playback; POST /missions/{id}/replay from the playback view). */
function playbackLinks(m: Mission): HTMLAnchorElement[] {
  if (!m.started_at || !["completed", "failed", "canceled"].includes(m.status)) return [];
  const link = (label: string, path: string, testid: string, title: string) => {
    const a = text("a", label, "button-link playback-link") as HTMLAnchorElement;
    a.href = `#/missions/${m.id}/${path}`;
    a.dataset.testid = testid;
    a.title = title;
    gateLink(a, "researcher");
    return a;
  };
  return [link(t("operations.play_back"), "playback", "playback-link", t("operations.play_back_title")),
    link(t("operations.resimulate"), "replay", "replay-link", t("operations.resimulate_title"))];
}

export class DetailView {
  private missionId: number | null = null;
  private events: MissionEvent[] = [];
  private seen = new Set<string>();
  private panel = $<HTMLElement>("#detail");
  readonly render = coalesce(() => this.draw());

  constructor(private store: MissionStore, private onClose: () => void) {
    store.onChange((id) => { if (id === null || id === this.missionId) this.render(); });
    $("#detail-close").addEventListener("click", () => this.close());
  }

  get selected(): number | null {
    return this.missionId;
  }

  async open(id: number): Promise<void> {
    this.missionId = id;
    this.events = [];
    this.seen.clear();
    const opening = this.panel.hidden;
    this.panel.hidden = false;
    this.render();
    if (opening) this.panel.scrollIntoView({ block: "nearest" }); // in view, wherever the row clicked was
    try {
      const mark = this.store.mark();
      const mission = await api<Mission>(`/missions/${id}`);
      if (this.missionId !== id) return; // another mission was opened meanwhile
      for (const e of mission.events ?? []) this.addEvent(e);
      this.store.fetched(mission, mark);
    } catch (err) {
      reportError(t("operations.loading_mission", { id }), err);
    }
    this.render();
  }

  close(): void {
    this.missionId = null;
    this.panel.hidden = true;
    this.onClose();
  }

  onFrame(frame: Frame): void {
    if (frame.mission_id !== this.missionId) return;
    const event = frameEvent(frame);
    if (event && this.addEvent(event)) this.render();
  }

  private addEvent(event: MissionEvent): boolean {
    const key = eventKey(event);
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    this.events.push(event);
    this.events.sort((a, b) => parseTime(a.time).getTime() - parseTime(b.time).getTime());
    return true;
  }

  private summary(m: Mission): HTMLElement {
    const dl = document.createElement("dl");
    const item = (label: string, value: Node | string | null | undefined) => {
      if (value === null || value === undefined || value === "") return;
      dl.append(text("dt", label));
      const dd = document.createElement("dd");
      dd.append(value);
      dl.append(dd);
    };
    item(t("operations.summary_status"), badge(m.status));
    item(t("operations.summary_priority"), badge(m.priority, "priority"));
    item(t("operations.summary_template"), m.template ?? t("operations.inline_spec"));
    item(t("operations.summary_params"), pairs(m.params));
    item(t("operations.summary_robot"), m.robot_id ?? (m.requested_robot_id
      ? t("operations.robot_requested", { robot: m.requested_robot_id }) : t("operations.not_assigned_yet")));
    item(t("operations.summary_created"), clock(m.created_at));
    if (m.not_before) item(t("operations.summary_not_before"), clock(m.not_before));
    if (m.assigned_at) item(t("operations.summary_assigned"), clock(m.assigned_at));
    if (m.started_at) item(t("operations.summary_started"), clock(m.started_at));
    if (m.ended_at) item(t("operations.summary_ended"), clock(m.ended_at));
    if (m.duration_s != null) {
      item(t("operations.summary_duration"), t("operations.seconds", { value: m.duration_s.toFixed(1) }));
    }
    if (m.distance_m != null) item(t("operations.summary_distance"), `${m.distance_m.toFixed(1)} m`);
    if (m.failure_reason) item(t("operations.summary_failure"), text("span", failureReason(m), "failure"));
    return dl;
  }

  private step(s: Step): HTMLLIElement {
    const li = document.createElement("li");
    li.className = `step step-${s.status}`;
    li.dataset.testid = "step";
    li.dataset.index = String(s.index);
    li.dataset.status = s.status;
    const head = text("div", "", "step-head");
    head.append(text("span", String(s.index), "step-index mono"),
      text("span", term("operations.step_kind", s.kind), "step-kind"), text("span", describeStep(s), "step-what"),
      badge(s.status, "step-status"));
    li.append(head);
    const attempt = s.attempt == null || !(s.attempt > 1 || s.retries) ? ""
      : s.retries ? t("operations.attempt_of", { attempt: s.attempt, total: s.retries + 1 })
      : t("operations.attempt", { attempt: s.attempt });
    const times = [s.started_at ? t("operations.step_started", { time: clock(s.started_at) }) : "",
      s.ended_at ? t("operations.step_ended", { time: clock(s.ended_at) }) : "", attempt]
      .filter(Boolean).join(" · ");
    if (times) li.append(text("div", times, "sub"));
    if (s.message && s.message !== s.prompt) {
      li.append(text("div", eventText(s.message_code, s.message_params, s.message), "step-message"));
    }
    return li;
  }

  private eventRow(e: MissionEvent): HTMLTableRowElement {
    const tr = document.createElement("tr");
    tr.dataset.testid = "event";
    tr.dataset.kind = e.kind;
    if (e.status) tr.dataset.status = e.status;
    tr.append(cell(clock(e.time)),
      cell(e.sim_time == null ? "–" : t("operations.seconds", { value: e.sim_time.toFixed(1) })),
      cell(e.kind === "status" && e.status ? badge(e.status) : term("operations.event_kind", e.kind)),
      cell(e.step_index == null ? "" : String(e.step_index)), cell(eventText(e.code, e.params, e.message)));
    return tr;
  }

  private draw(): void {
    const m = this.missionId === null ? undefined : this.store.get(this.missionId);
    this.panel.dataset.missionId = this.missionId === null ? "" : String(this.missionId);
    this.panel.dataset.status = m?.status ?? "";
    $("#detail-title").textContent = this.missionId === null ? t("ops.mission")
      : t("operations.mission_title", { id: this.missionId });
    if (!m) {
      $("#detail-summary").replaceChildren(text("p", t("operations.loading"), "hint"));
      $("#detail-actions").replaceChildren();
      $("#detail-steps").replaceChildren();
      $("#detail-events").replaceChildren();
      return;
    }
    $("#detail-summary").replaceChildren(this.summary(m), missionEnergy(m));
    $("#detail-actions").replaceChildren(...missionButtons(this.store, m), ...playbackLinks(m));
    $("#detail-steps").replaceChildren(...m.steps.map((s) => this.step(s)));
    // newest first: what just happened is at the top
    $("#detail-events").replaceChildren(...[...this.events].reverse().map((e) => this.eventRow(e)));
  }
}
