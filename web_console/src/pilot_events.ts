// A pilot's interventions (opened and ended by operators here) and incidents, newest first.
import { post } from "./api";
import { badge, button, cell, clock, text } from "./dom";
import { t, term } from "./i18n";
import { reportError } from "./messages";
import { gate } from "./session";
import type { Incident, Intervention, Pilot } from "./types";

const RECENT = 20;
const INTERVENTION_KINDS = ["remote_assist", "teleoperation", "on_site"];

/** The newest `RECENT` of records listed oldest first, newest first. */
function newest<T>(records: T[]): T[] {
  return records.slice(-RECENT).reverse();
}

function table(testid: string, heads: string[], rows: HTMLTableRowElement[], empty: string): HTMLElement {
  if (!rows.length) return text("p", empty, "hint");
  const grid = document.createElement("table");
  grid.className = "grid events";
  grid.dataset.testid = testid;
  const head = document.createElement("tr");
  head.append(...heads.map((h) => text("th", h)));
  grid.createTHead().append(head);
  grid.createTBody().append(...rows);
  return grid;
}

function interventionRow(i: Intervention, onEnd: (i: Intervention) => Promise<void>): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.testid = "intervention-row";
  tr.dataset.interventionId = i.id;
  tr.dataset.open = String(i.open);
  const end = button(t("dashboard.end"), () => onEnd(i));
  gate(end, "operator");
  const state = i.open ? cell(badge("open", "intervention"), end)
    : cell(text("span", t("dashboard.ended", { time: clock(i.ended_at) }), "sub"));
  state.className = "actions";
  tr.append(cell(clock(i.started_at)), cell(text("span", i.robot_id, "mono")),
    cell(term("dashboard.intervention-kind", i.kind)), cell(text("span", term("dashboard.intervention-source", i.source), "sub")),
    cell(i.mission_id === null ? "–" : `#${i.mission_id}`),
    cell(text("span", i.reason || "–", "wrap")), state);
  return tr;
}

function incidentRow(n: Incident): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.testid = "incident-row";
  tr.dataset.incidentId = n.id;
  tr.dataset.severity = n.severity;
  const where = n.place.name ?? `${n.place.x.toFixed(1)}, ${n.place.y.toFixed(1)}`;
  tr.append(cell(clock(n.time)), cell(badge(n.severity, "severity")), cell(term("dashboard.incident-kind", n.kind)),
    cell(text("span", n.robot_id, "mono")), cell(where), cell(n.mission_id === null ? "–" : `#${n.mission_id}`),
    cell(text("span", n.description || "–", "wrap")));
  return tr;
}

/** The form an operator opens an intervention with: the robot is taken over from now until it is ended. */
function interventionForm(pilot: Pilot, robots: string[], changed: () => Promise<void>): HTMLFormElement {
  const form = document.createElement("form");
  form.className = "inline-form";
  form.dataset.testid = "intervention-form";
  const select = (name: string, options: string[], label = (o: string) => o): HTMLSelectElement => {
    const s = document.createElement("select");
    s.name = name;
    s.append(...options.map((o) => Object.assign(document.createElement("option"), { value: o, textContent: label(o) })));
    return s;
  };
  const input = (name: string, type: string, placeholder: string): HTMLInputElement =>
    Object.assign(document.createElement("input"), { name, type, placeholder });
  const label = (title: string, control: HTMLElement): HTMLLabelElement => {
    const l = document.createElement("label");
    l.append(title, control);
    return l;
  };
  const kind = select("kind", INTERVENTION_KINDS, (k) => term("dashboard.intervention-kind", k));
  const robot = select("robot_id", robots);
  const mission = input("mission_id", "number", t("dashboard.mission_none"));
  mission.min = "1";
  const reason = input("reason", "text", t("dashboard.reason_placeholder"));
  const submit = text("button", t("dashboard.open_intervention")) as HTMLButtonElement;
  submit.type = "submit";
  form.append(label(t("dashboard.col_kind"), kind), label(t("dashboard.col_robot"), robot),
    label(t("dashboard.col_mission"), mission), label(t("dashboard.col_reason"), reason), submit);
  gate(submit, "operator");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit.disabled = true;
    const body = { kind: kind.value, robot_id: robot.value, pilot_id: pilot.id, reason: reason.value,
      mission_id: mission.value ? Number(mission.value) : null };
    post<Intervention>("/interventions", body)
      .then(() => { reason.value = ""; mission.value = ""; return changed(); })
      .catch((err: unknown) => reportError(t("dashboard.opening_intervention", { robot: body.robot_id }), err))
      .finally(() => { submit.disabled = !gate(submit, "operator"); });
  });
  return form;
}

export function interventionsPanel(pilot: Pilot, robots: string[], listed: Intervention[], open: Intervention[],
  total: number, changed: () => Promise<void>): HTMLElement {
  const end = async (i: Intervention): Promise<void> => {
    try {
      await post<Intervention>(`/interventions/${encodeURIComponent(i.id)}/end`);
      await changed();
    } catch (err) {
      reportError(t("dashboard.ending_intervention", { robot: i.robot_id }), err);
    }
  };
  // every open one, then the newest of the rest
  const shown = [...open, ...newest(listed).filter((i) => !open.some((o) => o.id === i.id))].slice(0, Math.max(RECENT, open.length));
  const panel = text("section", "", "panel");
  panel.dataset.testid = "interventions";
  panel.append(text("h2", t("dashboard.interventions", { total })),
    interventionForm(pilot, robots, changed),
    table("intervention-list", [t("dashboard.col_started"), t("dashboard.col_robot"), t("dashboard.col_kind"),
      t("dashboard.col_source"), t("dashboard.col_mission"), t("dashboard.col_reason"), ""],
    shown.map((i) => interventionRow(i, end)), t("dashboard.no_interventions")));
  if (total > shown.length) panel.append(text("p", t("dashboard.newest_of", { shown: shown.length, total }), "hint"));
  return panel;
}

export function incidentsPanel(listed: Incident[], total: number): HTMLElement {
  const shown = newest(listed);
  const panel = text("section", "", "panel");
  panel.dataset.testid = "incidents";
  panel.append(text("h2", t("dashboard.incidents", { total })),
    table("incident-list", [t("dashboard.col_time"), t("dashboard.col_severity"), t("dashboard.col_kind"),
      t("dashboard.col_robot"), t("dashboard.col_place"), t("dashboard.col_mission"), t("dashboard.col_description")],
    shown.map(incidentRow), t("dashboard.no_incidents")));
  if (total > shown.length) panel.append(text("p", t("dashboard.newest_of", { shown: shown.length, total }), "hint"));
  return panel;
}
