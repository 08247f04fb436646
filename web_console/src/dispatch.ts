// The dispatch form, generated from each template's typed parameters.
import { ApiError, post, reason } from "./api";
import { $, text } from "./dom";
import { lang, siteWallTime, t, term } from "./i18n";
import { gate } from "./session";
import type { MissionStore } from "./store";
import type { Mission, ParamSpec, Robot, Template } from "./types";

type Field = HTMLInputElement | HTMLSelectElement;

function paramInput(p: ParamSpec, places: string[], zones: string[]): Field {
  if (p.type === "place" || p.type === "zone") {
    const select = document.createElement("select");
    if (!p.required || p.default === null || p.default === undefined) select.append(new Option("—", ""));
    for (const name of p.type === "zone" ? zones : places) select.append(new Option(name, name));
    select.value = typeof p.default === "string" ? p.default : "";
    return select;
  }
  const input = document.createElement("input");
  if (p.type === "boolean") {
    input.type = "checkbox";
    input.checked = p.default === true;
    return input;
  }
  input.type = p.type === "integer" || p.type === "number" ? "number" : "text";
  if (p.type === "integer") input.step = "1";
  if (p.type === "number") input.step = "any";
  input.value = p.default === null || p.default === undefined ? "" : String(p.default);
  if (p.required) input.required = true;
  return input;
}

/** A template's texts in the console's language (its `labels`), each left out one in English; a parameter's
 * name is its identifier in English. */
export function templateText(tpl: Template): {
  name: string; description: string; param: (p: ParamSpec) => { name: string; description: string };
} {
  const labels = tpl.labels?.[lang()];
  return {
    name: labels?.name ?? tpl.name,
    description: labels?.description ?? tpl.description,
    param: (p) => ({ name: labels?.params[p.name]?.name ?? p.name,
      description: labels?.params[p.name]?.description ?? p.description }),
  };
}

/** The form's parameters as the API wants them: typed, and empty optional fields left out. */
function readParams(form: HTMLFormElement): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const input of form.querySelectorAll<Field>("#params [name]")) {
    const type = input.dataset.type;
    if (type === "boolean") params[input.name] = (input as HTMLInputElement).checked;
    else if (input.value === "") continue;
    else if (type === "integer" || type === "number") params[input.name] = Number(input.value);
    else params[input.name] = input.value;
  }
  return params;
}

/** A datetime-local value, a wall time of the site's time zone (as every time the console shows), as an ISO UTC
 * timestamp. */
export function localToUtc(value: string): string {
  const when = siteWallTime(value);
  if (when === null) throw new Error(t("operations.not_a_date_time", { value }));
  return when.toISOString();
}

export class DispatchForm {
  private form = $<HTMLFormElement>("#dispatch");
  private templateSelect = $<HTMLSelectElement>("#template");
  private robotSelect = $<HTMLSelectElement>("#robot-select");
  private error = $<HTMLElement>("#form-error");
  private ok = $<HTMLElement>("#form-ok");
  private robots = new Map<string, string>(); // id → kind
  private priority = $<HTMLSelectElement>("#dispatch select[name=priority]");
  private emergencyArmed = false; // an emergency is sent on the second press of Dispatch (it preempts missions)

  constructor(
    private templates: Template[],
    private places: string[],
    private store: MissionStore,
    private zones: string[] = [],
  ) {
    this.templateSelect.replaceChildren(...templates.map((tpl) => new Option(templateText(tpl).name, tpl.name)));
    this.templateSelect.addEventListener("change", () => this.renderParams());
    this.form.addEventListener("submit", (e) => void this.submit(e));
    this.priority.addEventListener("change", () => { this.emergencyArmed = false; });
    const submit = this.form.querySelector<HTMLButtonElement>("button[type=submit]");
    if (submit) gate(submit, "operator");
    this.renderParams();
  }

  private get template(): Template | undefined {
    return this.templates.find((tpl) => tpl.name === this.templateSelect.value);
  }

  /** Robots offered for the optional pinning, those of the template's kind first; unregistered robots are never
   * dispatched, so never offered. `whole`: the list is the whole fleet (robots not in it, e.g. retired, go). */
  setRobots(robots: Iterable<Robot>, whole = false): void {
    let changed = false;
    const listed = new Set<string>();
    for (const r of robots) {
      if (r.registration === "unregistered") continue;
      listed.add(r.id);
      if (this.robots.get(r.id) !== r.kind) changed = true;
      this.robots.set(r.id, r.kind);
    }
    for (const id of whole ? [...this.robots.keys()] : []) {
      if (listed.has(id)) continue;
      this.robots.delete(id);
      changed = true;
    }
    if (changed) this.renderRobots();
  }

  private renderRobots(): void {
    const keep = this.robotSelect.value;
    const kind = this.template?.robot_kind ?? null;
    const ids = [...this.robots.keys()].sort();
    const option = (id: string) => new Option(this.robots.get(id) ? `${id} (${this.robots.get(id)})` : id, id);
    const options: (HTMLOptionElement | HTMLOptGroupElement)[] = [new Option(t("operations.any_suitable_robot"), "")];
    if (kind === null) {
      options.push(...ids.map(option));
    } else {
      options.push(...ids.filter((id) => this.robots.get(id) === kind).map(option));
      const others = ids.filter((id) => this.robots.get(id) !== kind);
      if (others.length) {
        const group = document.createElement("optgroup");
        group.label = t("operations.other_kind_robots", { kind });
        group.append(...others.map(option));
        options.push(group);
      }
    }
    this.robotSelect.replaceChildren(...options);
    this.robotSelect.value = this.robots.has(keep) ? keep : "";
  }

  private renderParams(): void {
    const template = this.template;
    const words = template ? templateText(template) : null;
    const needs = [template?.robot_kind ? t("operations.kind_robot", { kind: template.robot_kind }) : "",
      ...(template?.capabilities ?? [])].filter(Boolean).join(", ");
    $("#template-help").textContent = !words ? ""
      : needs ? t("operations.template_needs", { description: words.description, needs }) : words.description;
    $("#params").replaceChildren(...(template?.params ?? []).map((p) => {
      const said = words?.param(p) ?? { name: p.name, description: p.description };
      const label = text("label", "");
      const name = text("span", `${said.name}${p.required ? " *" : ""}`, "param-name");
      if (said.name !== p.name) name.title = p.name; // (the API's name of the parameter)
      label.append(name);
      label.title = said.description;
      const input = paramInput(p, this.places, this.zones);
      input.name = p.name;
      input.dataset.type = p.type;
      if (p.type === "boolean") label.classList.add("check");
      label.append(input);
      if (said.description) label.append(text("span", said.description, "sub wrap"));
      return label;
    }));
    this.renderRobots();
  }

  /** After a dispatch: what applies to one mission only (its priority, a pinned robot, a start time) is cleared,
   * so that the next one does not silently inherit it; the template and its parameters stay. */
  private reset(): void {
    this.priority.value = "normal";
    this.robotSelect.value = "";
    const notBefore = this.form.querySelector<HTMLInputElement>("input[name=not_before]");
    if (notBefore) notBefore.value = "";
    this.emergencyArmed = false;
  }

  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    this.error.hidden = true;
    this.ok.hidden = true;
    const data = new FormData(this.form);
    const submitButton = this.form.querySelector<HTMLButtonElement>("button[type=submit]");
    if (data.get("priority") === "emergency" && !this.emergencyArmed) {
      this.emergencyArmed = true; // asked once: Dispatch again sends it
      this.error.textContent = t("operations.confirm_emergency");
      this.error.dataset.kind = "confirm";
      this.error.hidden = false;
      return;
    }
    delete this.error.dataset.kind;
    try {
      const body: Record<string, unknown> = {
        template: data.get("template"), params: readParams(this.form), priority: data.get("priority"),
      };
      if (data.get("robot_id")) body.robot_id = data.get("robot_id");
      const notBefore = String(data.get("not_before") ?? "");
      if (notBefore) body.not_before = localToUtc(notBefore);
      if (submitButton) submitButton.disabled = true;
      const mark = this.store.mark();
      const mission = await post<Mission>("/missions", body);
      this.store.fetched(mission, mark);
      this.ok.textContent = t("operations.dispatched_mission",
        { id: mission.id, status: term("status", mission.status) });
      this.ok.dataset.missionId = String(mission.id);
      this.ok.hidden = false;
      this.reset();
    } catch (err) {
      this.error.textContent = err instanceof ApiError || err instanceof TypeError ? reason(err) : (err as Error).message;
      this.error.hidden = false;
    } finally {
      if (submitButton) submitButton.disabled = !gate(submitButton, "operator");
    }
  }
}
