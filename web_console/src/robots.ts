// The robot list: each robot's adapter, mode, localisation, battery and mission, with the operator commands
// (pause, resume, e-stop, release) and, for robots of another fleet's protocol (Nav2, VDA 5050), a detail row.
// Unregistered robots are listed greyed (never dispatched); robots that never reported are listed, not drawn.
import { post } from "./api";
import { $, button, cell, coalesce, text } from "./dom";
import { term } from "./i18n";
import { MODE_COLORS } from "./map";
import { reportError, showMessage } from "./messages";
import { RobotDetail } from "./robot_detail";
import { ADAPTER_LABEL, ADAPTER_TITLE, ROBOT_TEXT as T } from "./robot_text";
import { gate } from "./session";
import type { Adapter, Robot } from "./types";

export interface CommandAnswer { robot_id: string; command: string; result: string; message: string }

const COMMANDS = [
  { command: "pause", label: T.pause, cls: "" },
  { command: "resume", label: T.resume, cls: "" },
  { command: "estop", label: T.estop, cls: "danger" },
  { command: "release", label: T.release, cls: "" },
] as const;

/** Sends the command; the robot's answer (what was done, e.g. "paused and its order canceled") is shown. */
export async function command(robotId: string, cmd: string, label: string): Promise<void> {
  try {
    const answer = await post<CommandAnswer>(`/robots/${encodeURIComponent(robotId)}/commands`, { command: cmd });
    if (answer.result === "ok") showMessage(T.commandDone(robotId, answer.message), "info");
    else showMessage(T.commandRefused(robotId, label, answer.result, answer.message));
  } catch (err) {
    reportError(T.commandFailed(robotId, label), err);
  }
}

const isAdapter = (value: string | undefined): value is Adapter => !!value && value in ADAPTER_LABEL;

/** The small adapter label: agent / Nav2 / VDA 5050. */
export function adapterLabel(adapter: string | undefined): HTMLElement | string {
  if (!isAdapter(adapter)) return "";
  const label = text("span", ADAPTER_LABEL[adapter], `adapter adapter-${adapter}`);
  label.dataset.testid = "robot-adapter";
  label.title = ADAPTER_TITLE[adapter];
  return label;
}

/** What a row shows: it is built again only when this changes, so that a button is not replaced under the
 * pointer by the next telemetry frame (a click needs the same element under mousedown and mouseup). */
function shown(r: Robot, open: boolean): string {
  return JSON.stringify([r.mode, r.battery?.percentage.toFixed(0) ?? null, r.current_mission_id, r.localisation,
    r.registration, r.adapter, r.kind, r.model, r.pose !== null, open]);
}

export class RobotsView {
  readonly robots = new Map<string, Robot>();
  private readonly details = new Map<string, RobotDetail>(); // the open ones, kept across redraws
  private readonly rows = new Map<string, { key: string; tr: HTMLTableRowElement; detail?: HTMLTableRowElement }>();
  readonly render = coalesce(() => this.draw()); // the table is redrawn at most once per frame

  update(robot: Robot): void {
    this.robots.set(robot.id, robot);
    this.render();
  }

  /** The whole list (GET /robots), for what no frame tells: robots registered since (they have not reported)
   * are added, robots it no longer has are dropped (their ids are returned). Robots that report are kept as
   * their frames say: the list may be older than the last frame. */
  sync(list: Robot[]): string[] {
    const listed = new Set(list.map((r) => r.id));
    const gone = [...this.robots.keys()].filter((id) => !listed.has(id));
    for (const id of gone) {
      this.robots.delete(id);
      this.toggleDetail(id, false);
    }
    for (const r of list) {
      const known = this.robots.get(r.id);
      if (!known || known.last_seen === null || r.last_seen === null) this.robots.set(r.id, r);
    }
    this.render();
    return gone;
  }

  private toggleDetail(id: string, open: boolean): void {
    const detail = this.details.get(id);
    if (!open) {
      detail?.close();
      this.details.delete(id);
      return;
    }
    const adapter = this.robots.get(id)?.adapter;
    if (detail || !isAdapter(adapter)) return;
    const created = new RobotDetail(id, adapter);
    this.details.set(id, created);
    created.open();
  }

  private row(r: Robot): HTMLTableRowElement {
    const tr = document.createElement("tr");
    tr.dataset.testid = "robot-row";
    tr.dataset.robotId = r.id;
    tr.dataset.mode = r.mode;
    tr.dataset.adapter = r.adapter ?? "";
    tr.dataset.registration = r.registration ?? "registered";
    tr.dataset.localisation = r.localisation ?? "unknown";
    const unregistered = r.registration === "unregistered";
    const who = cell(text("div", "", "robot-name"), text("div", "", "sub"));
    const detailed = r.adapter === "nav2" || r.adapter === "vda5050"; // the id opens its detail
    who.firstElementChild?.append(detailed ? this.detailToggle(r.id) : text("span", r.id, "mono"));
    // the adapter label, then what it is (kind and model), or why it is not on the map
    const what = r.kind || r.model ? (r.kind === r.model ? r.kind : `${r.kind} · ${r.model}`) : "";
    who.lastElementChild?.append(adapterLabel(r.adapter), " ", what);
    if (!r.pose) {
      const never = text("div", T.offlineNoPose, "sub");
      never.title = T.offlineNoPoseTitle;
      who.append(never);
    }
    if (unregistered) {
      tr.classList.add("unregistered");
      tr.title = T.unregisteredTitle;
      const note = text("div", T.unregistered, "sub unregistered-note");
      note.dataset.testid = "unregistered-note";
      who.append(note);
    }
    const mode = cell(text("span", term("mode", r.mode), "badge"));
    (mode.firstElementChild as HTMLElement).style.background = MODE_COLORS[r.mode] ?? "#607d8b";
    if (r.localisation === "lost") {
      const lost = text("div", T.localisationLost, "localisation-lost");
      lost.dataset.testid = "localisation-lost";
      lost.title = T.localisationLostTitle;
      mode.append(lost);
    }
    const actions = cell(...COMMANDS.map(({ command: cmd, label, cls }) => {
      const b = button(label, () => command(r.id, cmd, label), cls);
      b.dataset.command = cmd;
      if (unregistered) {
        b.disabled = true;
        b.title = T.notCommanded;
      } else {
        gate(b, "operator");
      }
      return b;
    }));
    actions.className = "actions";
    tr.append(who, mode, cell(r.battery ? T.battery(r.battery.percentage.toFixed(0)) : T.noValue),
      cell(r.current_mission_id ? T.mission(r.current_mission_id) : T.noValue), actions);
    return tr;
  }

  /** Opens or closes the robot's detail row (its e-stop, and a VDA 5050 vehicle's status). */
  private detailToggle(id: string): HTMLButtonElement {
    const open = this.details.has(id);
    const toggle = button(`${open ? "▾" : "▸"} ${id}`, () => {
      this.toggleDetail(id, !this.details.has(id));
      this.render();
    }, "details-toggle mono");
    toggle.dataset.testid = "robot-details-toggle";
    toggle.title = T.detailsTitle(id);
    toggle.setAttribute("aria-label", T.detailsLabel(id));
    toggle.setAttribute("aria-expanded", String(open));
    toggle.setAttribute("aria-controls", `robot-detail-${id}`);
    return toggle;
  }

  private detailRow(detail: RobotDetail): HTMLTableRowElement {
    const tr = document.createElement("tr");
    tr.className = "robot-detail-row";
    tr.dataset.testid = "robot-detail-row";
    tr.id = `robot-detail-${detail.robotId}`;
    const td = cell(detail.element);
    td.colSpan = 5;
    tr.append(td);
    return tr;
  }

  /** The rows in order; a row whose content changed is replaced in place, the others stay as they are. */
  private draw(): void {
    const body = $<HTMLTableSectionElement>("#robots tbody");
    const wanted: HTMLTableRowElement[] = [];
    for (const r of [...this.robots.values()].sort((a, b) => a.id.localeCompare(b.id))) {
      const detail = this.details.get(r.id);
      const key = shown(r, detail !== undefined);
      let kept = this.rows.get(r.id);
      if (kept?.key !== key) {
        const tr = this.row(r);
        if (kept?.tr.parentNode) kept.tr.replaceWith(tr);
        kept = { key, tr, detail: kept?.detail };
        this.rows.set(r.id, kept);
      }
      if (detail && !kept.detail) kept.detail = this.detailRow(detail);
      if (!detail && kept.detail) {
        kept.detail.remove();
        kept.detail = undefined;
      }
      wanted.push(kept.tr, ...(kept.detail ? [kept.detail] : []));
    }
    for (const [id, kept] of this.rows) {
      if (this.robots.has(id)) continue;
      kept.tr.remove();
      kept.detail?.remove();
      this.rows.delete(id);
    }
    wanted.forEach((tr, i) => {
      if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] ?? null);
    });
    while (body.children.length > wanted.length) body.lastElementChild?.remove();
  }
}
