// A pilot's interventions (opened and ended by operators here) and incidents, newest first.
import { post } from "./api";
import { badge, button, cell, clock, text } from "./dom";
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
  const t = document.createElement("table");
  t.className = "grid events";
  t.dataset.testid = testid;
  const head = document.createElement("tr");
  head.append(...heads.map((h) => text("th", h)));
  t.createTHead().append(head);
  t.createTBody().append(...rows);
  return t;
}

function interventionRow(i: Intervention, onEnd: (i: Intervention) => Promise<void>): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.testid = "intervention-row";
  tr.dataset.interventionId = i.id;
  tr.dataset.open = String(i.open);
  const end = button("End", () => onEnd(i));
  gate(end, "operator");
  const state = i.open ? cell(badge("open", "intervention"), end)
    : cell(text("span", `ended ${clock(i.ended_at)}`, "sub"));
  state.className = "actions";
  tr.append(cell(clock(i.started_at)), cell(text("span", i.robot_id, "mono")), cell(i.kind.replaceAll("_", " ")),
    cell(text("span", i.source, "sub")), cell(i.mission_id === null ? "–" : `#${i.mission_id}`),
    cell(text("span", i.reason || "–", "wrap")), state);
  return tr;
}

function incidentRow(n: Incident): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.testid = "incident-row";
  tr.dataset.incidentId = n.id;
  tr.dataset.severity = n.severity;
  const where = n.place.name ?? `${n.place.x.toFixed(1)}, ${n.place.y.toFixed(1)}`;
  tr.append(cell(clock(n.time)), cell(badge(n.severity, "severity")), cell(n.kind.replaceAll("_", " ")),
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
  const kind = select("kind", INTERVENTION_KINDS, (k) => k.replaceAll("_", " "));
  const robot = select("robot_id", robots);
  const mission = input("mission_id", "number", "none");
  mission.min = "1";
  const reason = input("reason", "text", "why the operator steps in");
  const submit = text("button", "Open intervention") as HTMLButtonElement;
  submit.type = "submit";
  form.append(label("Kind", kind), label("Robot", robot), label("Mission", mission), label("Reason", reason), submit);
  gate(submit, "operator");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit.disabled = true;
    const body = { kind: kind.value, robot_id: robot.value, pilot_id: pilot.id, reason: reason.value,
      mission_id: mission.value ? Number(mission.value) : null };
    post<Intervention>("/interventions", body)
      .then(() => { reason.value = ""; mission.value = ""; return changed(); })
      .catch((err: unknown) => reportError(`opening an intervention on ${body.robot_id}`, err))
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
      reportError(`ending the intervention on ${i.robot_id}`, err);
    }
  };
  // every open one, then the newest of the rest
  const shown = [...open, ...newest(listed).filter((i) => !open.some((o) => o.id === i.id))].slice(0, Math.max(RECENT, open.length));
  const panel = text("section", "", "panel");
  panel.dataset.testid = "interventions";
  panel.append(text("h2", `Interventions (${total})`),
    interventionForm(pilot, robots, changed),
    table("intervention-list", ["Started", "Robot", "Kind", "Source", "Mission", "Reason", ""],
      shown.map((i) => interventionRow(i, end)), "No interventions."));
  if (total > shown.length) panel.append(text("p", `the newest ${shown.length} of ${total}`, "hint"));
  return panel;
}

export function incidentsPanel(listed: Incident[], total: number): HTMLElement {
  const shown = newest(listed);
  const panel = text("section", "", "panel");
  panel.dataset.testid = "incidents";
  panel.append(text("h2", `Incidents (${total})`),
    table("incident-list", ["Time", "Severity", "Kind", "Robot", "Place", "Mission", "Description"],
      shown.map(incidentRow), "No incidents."));
  if (total > shown.length) panel.append(text("p", `the newest ${shown.length} of ${total}`, "hint"));
  return panel;
}
