// The Robots page (#/robots): the robot registry of the site (GET /robot-registry) with each robot's live status
// (GET /robots), the robots that announced themselves without being registered, and, for admins, adding, editing
// and retiring robots (POST /robots, PATCH and DELETE /robots/{id}). Viewers read it with every control disabled.
import { api, remove } from "./api";
import { $, button, cell, clock, text } from "./dom";
import { term } from "./i18n";
import { MODE_COLORS } from "./map";
import { reportError } from "./messages";
import { type FormMode, RobotForm } from "./robot_form";
import { adapterLabel } from "./robots";
import { COLUMNS, CONFIRM, PAGE as T, UNREGISTERED_COLUMNS } from "./registry_text";
import type { Registration } from "./registry_types";
import { can, currentUser, gate } from "./session";
import type { Place, Robot } from "./types";

export const ROBOTS_HASH = /^#\/robots\/?$/;
const REFRESH_MS = 5000;

const num = (n: number) => String(Number(n.toFixed(2)));

function table(testid: string, heads: string[]): [HTMLTableElement, HTMLTableSectionElement] {
  const t = document.createElement("table");
  t.className = "grid registry";
  t.dataset.testid = testid;
  const head = document.createElement("tr");
  head.append(...heads.map((h) => text("th", h)));
  t.createTHead().append(head);
  return [t, t.createTBody()];
}

/** Mode, localisation, battery and when it was last heard of, from GET /robots. */
function status(robot: Robot | undefined): HTMLTableCellElement {
  const td = cell();
  td.className = "status";
  if (!robot) return td;
  const mode = text("span", term("mode", robot.mode), "badge");
  mode.style.background = MODE_COLORS[robot.mode] ?? "#607d8b";
  mode.dataset.testid = "registry-mode";
  mode.dataset.mode = robot.mode;
  td.append(mode);
  if (robot.localisation === "lost") td.append(text("div", T.localisationLost, "localisation-lost"));
  const seen = [robot.battery ? T.battery(robot.battery.percentage.toFixed(0)) : "",
    robot.last_seen ? T.lastSeen(clock(robot.last_seen)) : T.neverSeen].filter(Boolean).join(" · ");
  td.append(text("div", seen, "sub"));
  return td;
}

/** The connection settings given (the others take their defaults), one a line. */
function connectionLines(reg: Registration): HTMLElement[] {
  return Object.entries(reg.connection).filter(([, v]) => v).map(([k, v]) => text("div", `${k} ${v}`, "sub mono conn"));
}

/** The site's places (GET /sites/{site}/map), for home and charger. */
async function sitePlaces(): Promise<Place[]> {
  const sites = await api<{ site: string; active: boolean }[]>("/sites");
  const site = sites.find((s) => s.active)?.site ?? sites[0]?.site;
  if (!site) return [];
  return (await api<{ places: Place[] }>(`/sites/${encodeURIComponent(site)}/map`)).places;
}

export class RegistryView {
  private readonly root = $<HTMLElement>("#robots-view");
  private readonly rows: HTMLTableSectionElement;
  private readonly unregisteredRows: HTMLTableSectionElement;
  private readonly unregisteredTable: HTMLTableElement;
  private readonly unregisteredNone = text("p", T.noUnregistered, "hint");
  private readonly note = text("p", T.loading, "hint");
  private readonly done = text("div", "", "ok");
  private readonly retired = document.createElement("input");
  private readonly addButton = text("button", T.add) as HTMLButtonElement;
  private readonly dialog = document.createElement("dialog");
  private form: RobotForm | null = null; // built once the site's places are known
  private registrations: Registration[] = [];
  private live = new Map<string, Robot>();
  private timer: number | null = null;

  constructor() {
    const [registered, rows] = table("registry-table", COLUMNS);
    this.rows = rows;
    [this.unregisteredTable, this.unregisteredRows] = table("unregistered-table", UNREGISTERED_COLUMNS);
    this.retired.type = "checkbox";
    this.retired.id = "registry-show-retired";
    this.retired.dataset.testid = "show-retired";
    this.retired.addEventListener("change", () => this.render());
    const retiredLabel = text("label", T.showRetired, "check") as HTMLLabelElement;
    retiredLabel.htmlFor = this.retired.id;
    this.addButton.type = "button";
    this.addButton.dataset.testid = "registry-add";
    this.addButton.addEventListener("click", () => void this.openForm({ kind: "add" }));
    gate(this.addButton, "admin");
    this.done.hidden = true;
    this.done.dataset.testid = "registry-done";
    this.note.dataset.testid = "registry-note";

    const head = text("div", "", "panel-head");
    head.append(text("h2", T.registered), text("span", "", "toggle"), this.addButton);
    head.children[1].append(this.retired, retiredLabel);
    const main = text("section", "", "panel");
    main.append(head, text("p", T.intro, "hint"));
    const me = currentUser();
    if (!can("admin") && me) {
      const adminOnly = text("p", T.adminOnly(me.username, term("role", me.role)), "hint admin-only");
      adminOnly.dataset.testid = "registry-admin-only";
      main.append(adminOnly);
    }
    main.append(this.done, text("div", "", "registry-box"), this.note);
    main.children[main.children.length - 2].append(registered);

    const announced = text("section", "", "panel");
    announced.dataset.testid = "unregistered-panel";
    announced.append(text("h2", T.unregistered), text("p", T.unregisteredHint, "hint"), this.unregisteredTable,
      this.unregisteredNone);
    this.buildDialog();
    this.root.replaceChildren(main, announced, this.dialog);
  }

  show(): void {
    this.root.hidden = false;
    void this.load();
    if (this.timer === null) this.timer = window.setInterval(() => void this.load(), REFRESH_MS);
  }

  hide(): void {
    this.root.hidden = true;
    if (this.timer !== null) window.clearInterval(this.timer);
    this.timer = null;
  }

  /** The registry and the live robots, then the tables. */
  async load(): Promise<void> {
    this.root.dataset.state = this.root.dataset.state === "ready" ? "ready" : "loading";
    try {
      const [registrations, robots] = await Promise.all([
        api<Registration[]>("/robot-registry?include_retired=true"), api<Robot[]>("/robots")]);
      this.registrations = registrations;
      this.live = new Map(robots.map((r) => [r.id, r]));
      this.render();
      this.root.dataset.state = "ready";
    } catch (err) {
      this.note.textContent = T.loadFailed((err as Error).message);
      this.root.dataset.state = "error";
    }
  }

  private render(): void {
    const active = this.registrations.filter((r) => !r.retired_at);
    const retired = new Set(this.registrations.filter((r) => r.retired_at).map((r) => r.id));
    const unregistered = [...this.live.values()].filter((r) => r.registration === "unregistered");
    const shown = this.retired.checked ? this.registrations : active;
    this.rows.replaceChildren(...shown.map((r) => this.row(r)));
    this.unregisteredRows.replaceChildren(...unregistered.map((r) => this.unregisteredRow(r, retired.has(r.id))));
    this.unregisteredTable.hidden = unregistered.length === 0;
    this.unregisteredNone.hidden = unregistered.length > 0;
    this.note.textContent = !this.registrations.length ? T.noRobots : this.retired.checked
      ? T.counts(active.length, retired.size, unregistered.length)
      : T.countsNoRetired(active.length, unregistered.length);
  }

  private row(reg: Registration): HTMLTableRowElement {
    const tr = document.createElement("tr");
    tr.dataset.testid = "registry-row";
    tr.dataset.robotId = reg.id;
    tr.dataset.adapter = reg.adapter;
    tr.dataset.source = reg.source;
    tr.dataset.retired = String(reg.retired_at !== null);
    if (reg.retired_at) tr.classList.add("retired");
    const who = cell(text("div", reg.id, "mono"));
    if (reg.name !== reg.id) who.append(text("div", reg.name, "sub"));
    const adapter = cell(adapterLabel(reg.adapter), ...connectionLines(reg));
    const model = cell(text("div", reg.model.name), text("div", reg.model.kind, "sub"));
    const t = reg.map_transform;
    const identity = t.x === 0 && t.y === 0 && t.yaw === 0 && t.scale === 1;
    const source = text("span", reg.source === "fleet.yaml" ? T.sourceYaml : T.sourceApi,
      `badge source source-${reg.source === "fleet.yaml" ? "yaml" : "api"}`);
    source.title = reg.source === "fleet.yaml" ? T.sourceYamlTitle : T.sourceApiTitle;
    source.dataset.testid = "registry-source";
    const actions = cell();
    actions.className = "actions";
    if (reg.retired_at) {
      actions.append(text("span", T.retired(clock(reg.retired_at)), "sub"));
    } else {
      const edit = button(T.edit, () => this.openForm({ kind: "edit", registration: reg }));
      edit.dataset.action = "edit";
      edit.title = T.editTitle(reg.id);
      const retire = button(T.retire, () => this.confirmRetire(reg), "danger");
      retire.dataset.action = "retire";
      retire.title = T.retireTitle(reg.id);
      gate(edit, "admin");
      gate(retire, "admin");
      actions.append(edit, retire);
    }
    tr.append(who, adapter, model, cell(T.footprint(num(reg.model.radius))), cell(T.speed(num(reg.model.max_speed))),
      cell(text("span", identity ? T.identity : T.transform(num(t.x), num(t.y), num(t.yaw), num(t.scale)), "sub wrap")),
      cell(reg.home ?? T.none), cell(reg.charger ?? T.none), cell(source),
      reg.retired_at ? cell() : status(this.live.get(reg.id)), actions);
    return tr;
  }

  /** A robot that reports without being registered; one retired here cannot be registered again under its id. */
  private unregisteredRow(robot: Robot, retired: boolean): HTMLTableRowElement {
    const tr = document.createElement("tr");
    tr.dataset.testid = "unregistered-row";
    tr.dataset.robotId = robot.id;
    tr.dataset.retired = String(retired);
    const actions = cell();
    actions.className = "actions";
    if (retired) {
      actions.append(text("span", T.retiredId, "sub wrap"));
    } else {
      const register = button(T.register, () => this.openForm({ kind: "register", id: robot.id,
        adapter: robot.adapter ?? "" }));
      register.dataset.action = "register";
      register.title = T.registerTitle(robot.id);
      gate(register, "admin");
      actions.append(register);
    }
    const reportsAs = [robot.kind, robot.model].filter(Boolean).join(" · ") || T.none;
    tr.append(cell(text("span", robot.id, "mono")), cell(adapterLabel(robot.adapter)), cell(reportsAs), status(robot),
      actions);
    return tr;
  }

  private async openForm(mode: FormMode): Promise<void> {
    this.done.hidden = true;
    try {
      if (!this.form) {
        this.form = new RobotForm(await sitePlaces(), (saved, how) => this.saved(saved, how), () => this.form?.close());
        this.root.insertBefore(this.form.element, this.root.children[1]); // under the registry
      }
      const registered = this.registrations.filter((r) => !r.retired_at);
      this.form.open(mode, registered);
    } catch (err) {
      reportError(T.formFailed, err);
    }
  }

  private saved(reg: Registration, mode: FormMode): void {
    this.form?.close();
    this.done.textContent = mode.kind === "edit" ? T.saved(reg.id) : T.registeredOk(reg.id);
    this.done.hidden = false;
    void this.load();
  }

  private buildDialog(): void {
    const d = this.dialog;
    d.className = "confirm";
    d.dataset.testid = "retire-dialog";
    d.setAttribute("aria-labelledby", "retire-dialog-title");
    const title = text("h2", "");
    title.id = "retire-dialog-title";
    const form = document.createElement("form");
    form.method = "dialog";
    const yes = text("button", CONFIRM.retire, "danger-solid") as HTMLButtonElement;
    yes.value = "retire";
    yes.dataset.testid = "retire-confirm";
    const no = text("button", CONFIRM.keep, "secondary") as HTMLButtonElement;
    no.value = "keep";
    no.dataset.testid = "retire-keep";
    form.append(no, yes);
    d.append(title, text("p", ""), form);
  }

  /** Asks first: the robot is never dispatched again; its missions and recordings stay. */
  private confirmRetire(reg: Registration): Promise<void> {
    const d = this.dialog;
    d.dataset.robotId = reg.id;
    d.querySelector("h2")!.textContent = CONFIRM.title(reg.id);
    d.querySelector("p")!.textContent = CONFIRM.body(reg.id);
    d.returnValue = "";
    return new Promise((resolve) => {
      d.addEventListener("close", () => {
        if (d.returnValue !== "retire") {
          resolve();
          return;
        }
        remove<Registration>(`/robots/${encodeURIComponent(reg.id)}`).then(() => {
          this.done.textContent = T.retiredOk(reg.id);
          this.done.hidden = false;
          return this.load();
        }).catch((err: unknown) => reportError(T.retireFailed(reg.id), err)).finally(resolve);
      }, { once: true });
      d.showModal();
    });
  }
}
