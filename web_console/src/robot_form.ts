// The form that registers a robot (POST /robots) or edits one (PATCH /robots/{id}): the adapter first, then only
// that adapter's connection fields; the model with units; the map transform; home and charger from the site's
// places. A refusal's errors appear next to the fields they name, and nothing typed is lost.
import { fieldErrors, patch, post, reason } from "./api";
import { text } from "./dom";
import { FORM as T } from "./registry_text";
import { gate } from "./session";
import {
  ADAPTERS, type ActionSpec, CONNECTION_FIELDS, type Connection, type ConnectionField, type Registration,
  type RobotModelSpec,
} from "./registry_types";
import type { Adapter, Place } from "./types";

export type FormMode =
  | { kind: "add" }
  | { kind: "edit"; registration: Registration }
  | { kind: "register"; id: string; adapter: Adapter | "" };

type Control = HTMLInputElement | HTMLSelectElement;
type ModelKey = Exclude<keyof RobotModelSpec, "actions" | "capabilities" | "name" | "kind">;

// the model's numbers: [field, label, required]
const NUMBERS: [ModelKey, string, boolean][] = [
  ["radius", T.radius, true], ["max_speed", T.maxSpeed, true], ["battery_capacity_wh", T.battery, true]];
const MORE_NUMBERS: [ModelKey, string, boolean][] = [
  ["mass_kg", T.massKg, false], ["max_accel", T.maxAccel, false], ["max_decel", T.maxDecel, false],
  ["max_yaw_rate", T.maxYawRate, false], ["max_yaw_accel", T.maxYawAccel, false],
  ["idle_power_w", T.idlePower, false], ["drive_power_w", T.drivePower, false]];
const TRANSFORM = [["x", T.x], ["y", T.y], ["yaw", T.yaw], ["scale", T.scale]] as const;

function input(type = "text"): HTMLInputElement {
  const i = document.createElement("input");
  i.type = type;
  if (type === "number") i.step = "any";
  return i;
}

function select(options: [string, string][]): HTMLSelectElement {
  const s = document.createElement("select");
  s.append(...options.map(([value, label]) => new Option(label, value)));
  return s;
}

export class RobotForm {
  readonly element = document.createElement("form");
  private readonly controls = new Map<string, Control>(); // by the API's field path ("model.max_speed")
  private readonly errors = new Map<string, HTMLElement>();
  private readonly connectionSets = new Map<Adapter, HTMLElement>();
  private readonly title = text("h2", T.addTitle);
  private readonly connectionNote = text("p", T.connectionFirst, "hint");
  private readonly actionsNote = text("p", "", "hint");
  private readonly factsheetNote = text("p", T.factsheetFills, "hint");
  private readonly general = text("div", "", "error");
  private readonly submitButton = text("button", T.save) as HTMLButtonElement;
  private mode: FormMode = { kind: "add" };
  private actions: Record<string, ActionSpec> = {};
  private presets: Registration[] = [];

  constructor(places: Place[], private readonly onSaved: (saved: Registration, mode: FormMode) => void,
    private readonly onCancel: () => void) {
    const f = this.element;
    f.className = "robot-form panel";
    f.dataset.testid = "robot-form";
    this.factsheetNote.dataset.testid = "factsheet-note";
    this.factsheetNote.hidden = true;
    f.noValidate = true; // the API checks, and names the field
    f.hidden = true;
    const byName = [...places].sort((a, b) => a.name.localeCompare(b.name));
    const homes = byName.filter((p) => p.kind !== "waypoint").map((p): [string, string] => [p.name, p.name]);
    const chargers = byName.filter((p) => p.kind === "charger").map((p): [string, string] => [p.name, p.name]);

    const adapter = select([["", T.adapterChoose], ...ADAPTERS.map((a): [string, string] => [a, T.adapterOption[a]])]);
    adapter.addEventListener("change", () => this.showConnection());
    const robot = this.fieldset(T.robot, [
      this.field("adapter", T.adapter, adapter, T.adapterHint),
      this.field("id", T.id, input(), T.idHint),
      this.field("name", T.name, Object.assign(input(), { placeholder: T.namePlaceholder })),
    ]);

    const connection = this.fieldset(T.connection, []);
    connection.dataset.testid = "connection-fields";
    connection.append(this.connectionNote);
    for (const a of ADAPTERS) {
      const set = text("div", "", "fields");
      set.dataset.adapter = a;
      set.hidden = true;
      set.append(...CONNECTION_FIELDS[a].map((k) => this.field(`connection.${a}.${k}`, T.connectionField[k],
        Object.assign(input(), { placeholder: T.connectionDefault[k] }))));
      this.connectionSets.set(a, set);
      connection.append(set);
    }

    const preset = select([]);
    preset.addEventListener("change", () => this.applyPreset(preset.value));
    const more = document.createElement("details");
    more.append(text("summary", T.more),
      text("div", "", "fields"));
    more.lastElementChild?.append(...MORE_NUMBERS.map(([k, label]) => this.field(`model.${k}`, label, input("number"))));
    const model = this.fieldset(T.model, [
      this.field("preset", T.preset, preset),
      this.factsheetNote,
      this.field("model.name", T.modelName, input()),
      this.field("model.kind", T.kind, input(), T.kindHint),
      ...NUMBERS.map(([k, label]) => this.field(`model.${k}`, label, input("number"))),
      this.field("model.capabilities", T.capabilities, input(), T.capabilitiesHint),
    ]);
    model.append(more, this.actionsNote);

    const placement = this.fieldset(T.placement, [
      ...TRANSFORM.map(([k, label]) => this.field(`map_transform.${k}`, label, input("number"))),
      this.field("home", T.home, select([["", T.homeNone], ...homes])),
      this.field("charger", T.charger, select([["", T.chargerNone], ...chargers]), T.chargerHint),
    ]);
    placement.insertBefore(text("p", T.placementHint, "hint"), placement.children[1]);

    this.submitButton.type = "submit";
    this.submitButton.dataset.testid = "robot-form-save";
    gate(this.submitButton, "admin");
    const cancel = text("button", T.cancel, "secondary") as HTMLButtonElement;
    cancel.type = "button";
    cancel.addEventListener("click", () => this.onCancel());
    this.general.hidden = true;
    this.general.setAttribute("role", "alert");
    this.general.dataset.testid = "robot-form-error";
    const buttons = text("div", "", "form-buttons");
    buttons.append(this.submitButton, cancel);
    const stack = text("div", "", "form-stack");
    stack.append(robot, connection);
    const grid = text("div", "", "form-grid");
    grid.append(stack, model, placement);
    f.append(this.title, grid, this.general, buttons);
    f.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.submit();
    });
  }

  private fieldset(legend: string, fields: HTMLElement[]): HTMLFieldSetElement {
    const set = document.createElement("fieldset");
    const l = text("legend", legend);
    const box = text("div", "", "fields");
    box.append(...fields);
    set.append(l, box);
    return set;
  }

  /** A labelled control (`<label for>`), its hint and the place of its error, under the API's field path. */
  private field(path: string, label: string, control: Control, hint = ""): HTMLElement {
    const id = `robot-form-${path.replaceAll(".", "-")}`;
    control.id = id;
    control.name = path;
    control.dataset.field = path;
    const wrap = text("div", "", "field");
    wrap.dataset.field = path;
    const l = text("label", label) as HTMLLabelElement;
    l.htmlFor = id;
    wrap.append(l, control);
    const described: string[] = [];
    if (hint) {
      const h = text("div", hint, "sub wrap");
      h.id = `${id}-hint`;
      described.push(h.id);
      wrap.append(h);
    }
    const error = text("div", "", "field-error");
    error.id = `${id}-error`;
    error.dataset.testid = "field-error";
    error.dataset.field = path;
    error.hidden = true;
    described.push(error.id);
    control.setAttribute("aria-describedby", described.join(" "));
    wrap.append(error);
    this.controls.set(path, control);
    this.errors.set(path, error);
    return wrap;
  }

  private control(path: string): Control {
    const c = this.controls.get(path);
    if (!c) throw new Error(`no form field ${path}`);
    return c;
  }

  private value(path: string): string {
    return this.control(path).value.trim();
  }

  private set(path: string, value: unknown): void {
    this.control(path).value = value === null || value === undefined ? "" : String(value);
  }

  private get adapter(): Adapter | "" {
    return this.value("adapter") as Adapter | "";
  }

  private showConnection(): void {
    const adapter = this.adapter;
    for (const [a, set] of this.connectionSets) set.hidden = a !== adapter;
    this.connectionNote.hidden = adapter !== "";
    this.factsheetNote.hidden = adapter !== "vda5050" || this.mode.kind === "edit";
    const legend = this.element.querySelector("[data-testid=connection-fields] legend");
    if (legend) legend.textContent = adapter ? T.connectionOf[adapter] : T.connection;
  }

  /** Opens the form, empty (add), with a registration (edit) or with an announced robot's id and adapter. */
  open(mode: FormMode, presets: Registration[]): void {
    this.mode = mode;
    this.presets = presets;
    this.clearErrors();
    this.element.reset();
    const reg = mode.kind === "edit" ? mode.registration : null;
    this.title.textContent = mode.kind === "add" ? T.addTitle
      : mode.kind === "edit" ? T.editTitle(mode.registration.id) : T.registerTitle(mode.id);
    this.submitButton.textContent = mode.kind === "edit" ? T.save : T.register;
    this.element.dataset.mode = mode.kind;
    const models = new Map(presets.map((r) => [r.model.name, r]));
    const preset = this.control("preset") as HTMLSelectElement;
    preset.replaceChildren(new Option(T.presetNone, ""), ...[...models.values()].map((r) =>
      new Option(T.presetOption(r.model.name, r.model.kind, r.id), r.id)));
    this.set("id", reg?.id ?? (mode.kind === "register" ? mode.id : ""));
    (this.control("id") as HTMLInputElement).readOnly = reg !== null;
    this.set("adapter", reg?.adapter ?? (mode.kind === "register" ? mode.adapter : ""));
    this.set("name", reg?.name ?? "");
    for (const a of ADAPTERS) {
      for (const k of CONNECTION_FIELDS[a]) this.set(`connection.${a}.${k}`, reg?.adapter === a ? reg.connection[k] : "");
    }
    this.fillModel(reg?.model ?? null);
    const transform = reg?.map_transform ?? { x: 0, y: 0, yaw: 0, scale: 1 };
    for (const [k] of TRANSFORM) this.set(`map_transform.${k}`, transform[k]);
    this.set("home", reg?.home ?? "");
    this.set("charger", reg?.charger ?? "");
    this.showConnection();
    this.element.hidden = false;
    this.element.scrollIntoView({ block: "nearest" });
    this.control(mode.kind === "add" ? "adapter" : "name").focus();
  }

  close(): void {
    this.element.hidden = true;
  }

  private fillModel(model: RobotModelSpec | null): void {
    this.set("model.name", model?.name);
    this.set("model.kind", model?.kind);
    for (const [k] of [...NUMBERS, ...MORE_NUMBERS]) this.set(`model.${k}`, model?.[k]);
    this.set("model.capabilities", model?.capabilities.join(", "));
    this.actions = model?.actions ?? {};
    const names = Object.keys(this.actions).sort().join(", ");
    this.actionsNote.textContent = names ? T.actionsKept(names) : "";
    this.actionsNote.hidden = !names;
  }

  private applyPreset(robotId: string): void {
    const from = this.presets.find((r) => r.id === robotId);
    if (from) this.fillModel(from.model);
  }

  private number(path: string): number | undefined {
    const v = this.value(path);
    return v === "" ? undefined : Number(v);
  }

  /** The request body: only the chosen adapter's connection fields, empty optional fields left out. */
  private body(): Record<string, unknown> {
    const adapter = this.adapter;
    const connection: Connection = {};
    for (const k of adapter ? CONNECTION_FIELDS[adapter] : []) {
      const v = this.value(`connection.${adapter}.${k}`);
      if (v) connection[k as ConnectionField] = v;
    }
    const model: Record<string, unknown> = {
      name: this.value("model.name") || undefined, kind: this.value("model.kind") || undefined };
    for (const [k] of [...NUMBERS, ...MORE_NUMBERS]) model[k] = this.number(`model.${k}`);
    model.capabilities = this.value("model.capabilities").split(",").map((c) => c.trim()).filter(Boolean);
    if (Object.keys(this.actions).length) model.actions = this.actions;
    const transform: Record<string, number | undefined> = {};
    for (const [k] of TRANSFORM) transform[k] = this.number(`map_transform.${k}`);
    const body: Record<string, unknown> = { name: this.value("name") || undefined, adapter, connection, model,
      map_transform: transform, home: this.value("home") || undefined, charger: this.value("charger") || undefined };
    if (this.mode.kind !== "edit") return { id: this.value("id"), ...body };
    const before = this.mode.registration;
    if (!body.home && before.home) body.clear_home = true;
    if (!body.charger && before.charger) body.clear_charger = true;
    return body;
  }

  private clearErrors(): void {
    for (const [path, error] of this.errors) {
      error.hidden = true;
      error.textContent = "";
      this.control(path).removeAttribute("aria-invalid");
    }
    this.general.hidden = true;
  }

  /** The form's field for an API field path: the longest one it starts with ("model.capabilities.0"). */
  private fieldOf(apiField: string | null): string | null {
    if (!apiField) return null;
    const path = apiField.startsWith("connection.") && this.adapter
      ? apiField.replace("connection.", `connection.${this.adapter}.`) : apiField;
    const parts = path.split(".");
    for (let n = parts.length; n > 0; n--) {
      const candidate = parts.slice(0, n).join(".");
      if (this.controls.has(candidate) && candidate !== "preset") return candidate;
    }
    return null;
  }

  private showErrors(errors: { field: string | null; message: string }[], fallback: string): void {
    const unplaced: string[] = [];
    let first: Control | null = null;
    for (const e of errors) {
      const path = this.fieldOf(e.field);
      const place = path ? this.errors.get(path) : undefined;
      if (!path || !place) {
        unplaced.push(e.field ? `${e.field}: ${e.message}` : e.message);
        continue;
      }
      const message = e.message.replace(new RegExp(`^${path.split(".").pop()}: `), ""); // it is next to the field
      place.textContent = place.textContent ? `${place.textContent}; ${message}` : message;
      place.hidden = false;
      this.control(path).setAttribute("aria-invalid", "true");
      first ??= this.control(path);
      (place.closest("details") as HTMLDetailsElement | null)?.setAttribute("open", "");
    }
    this.general.textContent = unplaced.length ? T.refused(unplaced.join("; ")) : errors.length ? T.fixFields
      : T.refused(fallback);
    this.general.hidden = false;
    first?.focus();
  }

  private async submit(): Promise<void> {
    this.clearErrors();
    if (!this.adapter) {
      this.showErrors([{ field: "adapter", message: T.adapterNeeded }], "");
      return;
    }
    const mode = this.mode;
    this.submitButton.disabled = true;
    this.element.dataset.state = "saving";
    try {
      const body = this.body();
      const saved = mode.kind === "edit"
        ? await patch<Registration>(`/robots/${encodeURIComponent(mode.registration.id)}`, body)
        : await post<Registration>("/robots", body);
      this.element.dataset.state = "saved";
      this.onSaved(saved, mode);
    } catch (err) {
      this.element.dataset.state = "refused";
      this.showErrors(fieldErrors(err), reason(err));
    } finally {
      this.submitButton.disabled = !gate(this.submitButton, "admin");
    }
  }
}
