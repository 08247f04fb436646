// The pilots view: every pilot, and a pilot's dashboard with what its HTML report shows (the KPI table against
// the targets, the report's plotly charts, the per-robot table), its recent interventions and incidents, and the
// links to the report and the CSV of its missions.
import { api } from "./api";
import { drawCharts, purgeCharts } from "./charts";
import { $, badge, cell, parseTime, text } from "./dom";
import { fileLink } from "./files";
import { lang, t } from "./i18n";
import { reportError } from "./messages";
import { incidentsPanel, interventionsPanel } from "./pilot_events";
import { targetsForm } from "./pilot_targets";
import type { Incident, Intervention, Pilot, PilotCharts, PilotKpis, Robot, RobotRow, TargetCheck } from "./types";

const SEVERITIES = ["SEV0", "SEV1", "SEV2", "SEV3"];
const LIST_ALL = 1000; // the API's page limit

/** A KPI value for people, as the HTML report writes it: n.a., integers as they are, else 4 significant digits. */
function fmt(value: number | null | undefined): string {
  if (value === null || value === undefined) return t("dashboard.na");
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

/** Every KPI by name; per-severity ones as `incidents.SEV0`, `incidents_per_100km.SEV0`, ... (report.kpi_values). */
function kpiValues(kpis: PilotKpis["kpis"]): [string, number | null][] {
  return Object.entries(kpis).flatMap(([name, value]): [string, number | null][] => {
    if (name === "incidents" || name === "incidents_per_100km") {
      const bySeverity = value as Record<string, number> | null;
      return SEVERITIES.map((s) => [`${name}.${s}`, bySeverity === null ? null : bySeverity[s] ?? null]);
    }
    return [[name, value as number | null]];
  });
}

const day = (value: string) => parseTime(value).toISOString().slice(0, 10);
const pilotPath = (id: string, rest = "") => `/pilots/${encodeURIComponent(id)}${rest}`;

function panel(title: string, ...body: Node[]): HTMLElement {
  const section = text("section", "", "panel");
  section.append(text("h2", title), ...body);
  return section;
}

function kpiTable(answer: PilotKpis, terms: PilotCharts["kpi_terms"]): HTMLTableElement {
  const checks = new Map<string, TargetCheck>(answer.targets.map((c) => [c.kpi, c]));
  const table = document.createElement("table");
  table.className = "grid kpis";
  table.id = "kpi-table";
  table.dataset.testid = "kpi-table";
  const head = document.createElement("tr");
  head.append(...[t("dashboard.col_kpi"), t("dashboard.col_value"), t("dashboard.col_target"), t("dashboard.col_verdict")]
    .map((h) => text("th", h)));
  table.createTHead().append(head);
  table.createTBody().append(...kpiValues(answer.kpis).map(([name, value]) => {
    const check = checks.get(name);
    const tr = document.createElement("tr");
    tr.dataset.testid = "kpi-row";
    tr.dataset.kpi = name;
    let target = "—";
    let verdict = "—";
    tr.className = "none";
    if (check) {
      target = `${check.direction === "higher" ? "≥" : "≤"} ${fmt(check.target)}`;
      [verdict, tr.className] = check.met === null ? [t("dashboard.verdict_na"), "na"]
        : check.met ? [t("dashboard.verdict_met"), "met"] : [t("dashboard.verdict_not_met"), "missed"];
    }
    const v = cell(terms?.[name]?.shown ?? fmt(value)); // as the report writes it: units, %, too little distance
    v.className = "num";
    v.dataset.value = value === null ? "null" : String(value);
    const targetCell = cell(target);
    targetCell.className = "num";
    const verdictCell = cell(verdict);
    verdictCell.className = "verdict";
    const label = text("span", terms?.[name]?.name ?? name, "kpi-name");
    label.title = terms?.[name]?.definition ?? name;
    tr.append(cell(label), v, targetCell, verdictCell);
    return tr;
  }));
  return table;
}

function robotTable(rows: RobotRow[]): HTMLTableElement {
  const table = document.createElement("table");
  table.className = "grid";
  table.dataset.testid = "robot-kpis";
  const head = document.createElement("tr");
  head.append(...[t("dashboard.robots_col_robot"), t("dashboard.robots_col_missions"), t("dashboard.robots_col_completed"),
    t("dashboard.robots_col_distance_km"), t("dashboard.robots_col_interventions"), t("dashboard.robots_col_incidents")]
    .map((h) => text("th", h)));
  table.createTHead().append(head);
  table.createTBody().append(...rows.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.robot = r.robot_id;
    const nums = [r.missions, r.completed, fmt(r.distance_km), r.interventions, r.incidents].map((n) => {
      const c = cell(String(n));
      c.className = "num";
      return c;
    });
    tr.append(cell(text("span", r.robot_id, "mono")), ...nums);
    return tr;
  }));
  return table;
}

function link(label: string, href: string, testid: string, download = false): HTMLAnchorElement {
  const a = text("a", label, "button-link") as HTMLAnchorElement;
  a.href = href;
  a.dataset.testid = testid;
  if (download) a.download = "";
  else a.target = "_blank";
  return fileLink(a, !download);
}

export class PilotsView {
  private pilots: Pilot[] = [];
  private selected: string | null = null;
  private request = 0; // the answers of an earlier selection are dropped
  private readonly dashboard = $<HTMLElement>("#pilot-dashboard");

  /** Shows the list, and the dashboard of `pilotId` when given. */
  async show(pilotId: string | null): Promise<void> {
    if (pilotId !== this.selected) this.clear();
    this.selected = pilotId;
    $<HTMLElement>("#pilot-hint").hidden = pilotId !== null;
    await this.loadList();
    if (pilotId !== null) await this.refresh();
  }

  /** Leaves the view: the charts are freed. */
  hide(): void {
    this.clear();
    this.selected = null;
  }

  private clear(): void {
    purgeCharts(this.dashboard);
    this.dashboard.replaceChildren();
    this.dashboard.hidden = true;
    this.request++;
  }

  private async loadList(): Promise<void> {
    try {
      this.pilots = await api<Pilot[]>("/pilots");
    } catch (err) {
      reportError(t("dashboard.loading_pilots"), err);
    }
    $("#pilot-rows").replaceChildren(...this.pilots.map((p) => {
      const tr = document.createElement("tr");
      tr.dataset.testid = "pilot-row";
      tr.dataset.pilotId = p.id;
      tr.tabIndex = 0;
      if (p.id === this.selected) tr.classList.add("selected");
      const open = () => { location.hash = `#/pilots/${encodeURIComponent(p.id)}`; };
      tr.addEventListener("click", open);
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
      const name = cell(text("span", p.name));
      if (p.is_default) name.append(" ", badge("default", "pilot"));
      const targets = Object.keys(p.targets);
      tr.append(name, cell(text("span", p.site, "mono")), cell(`${day(p.period_start)} – ${day(p.period_end)}`),
        cell(text("span", p.robots.join(", ") || "–", "wrap sub")), cell(targets.length ? String(targets.length) : "–"));
      return tr;
    }));
    $<HTMLElement>("#pilots-empty").hidden = this.pilots.length > 0;
  }

  /** Fetches and draws the selected pilot's dashboard again (after an operator's change, or on Refresh). */
  async refresh(): Promise<void> {
    const id = this.selected;
    if (id === null) return;
    const request = ++this.request;
    const q = `pilot_id=${encodeURIComponent(id)}&limit=${LIST_ALL}`;
    let loaded;
    try {
      loaded = await Promise.all([
        api<Pilot>(pilotPath(id)), api<PilotKpis>(pilotPath(id, "/kpis")), api<PilotCharts>(pilotPath(id, `/charts?lang=${lang()}`)),
        api<Intervention[]>(`/interventions?${q}`), api<Intervention[]>(`/interventions?${q}&open=true`),
        api<Incident[]>(`/incidents?${q}`),
      ]);
    } catch (err) {
      if (request === this.request) reportError(t("dashboard.loading_pilot", { id }), err);
      return;
    }
    if (request !== this.request) return;
    const [pilot, kpis, charts, interventions, open, incidents] = loaded;
    const robots = pilot.robots.length ? pilot.robots
      : (await api<Robot[]>("/robots").catch(() => [])).map((r) => r.id);
    if (request !== this.request) return;
    this.render(pilot, kpis, charts, interventions, open, incidents, robots);
    try {
      await drawCharts(this.dashboard, charts);
    } catch (err) {
      reportError(t("dashboard.drawing_charts"), err);
    }
  }

  private render(pilot: Pilot, kpis: PilotKpis, charts: PilotCharts, interventions: Intervention[],
    open: Intervention[], incidents: Incident[], robots: string[]): void {
    const values = new Map(kpiValues(kpis.kpis));
    const incidentTotal = SEVERITIES.reduce((n, s) => n + (values.get(`incidents.${s}`) ?? 0), 0);
    const head = text("section", "", "panel dash-head");
    const title = text("div", "", "panel-head");
    const name = text("h2", pilot.name, "pilot-name");
    title.append(name, link(t("dashboard.html_report"), `/api/v1${pilotPath(pilot.id, `/report?lang=${lang()}`)}`,
      "report-link"),
      link(t("dashboard.csv_of_missions"), `/api/v1${pilotPath(pilot.id, "/report.csv")}`, "csv-link", true));
    const refresh = text("button", t("dashboard.refresh"), "small") as HTMLButtonElement;
    refresh.type = "button";
    refresh.dataset.testid = "pilot-refresh";
    refresh.addEventListener("click", () => {
      refresh.disabled = true;
      void this.refresh().finally(() => { refresh.disabled = false; });
    });
    title.append(refresh);
    const facts = document.createElement("dl");
    const fact = (k: string, v: string, cls = "") => facts.append(text("dt", k), text("dd", v, cls));
    fact(t("dashboard.fact_site"), pilot.site, "mono");
    fact(t("dashboard.fact_period"), `${day(pilot.period_start)} – ${day(pilot.period_end)}`);
    fact(t("dashboard.fact_robots"), pilot.robots.join(", ") || "—", "mono");
    fact(t("dashboard.fact_records"), t("dashboard.records", { missions: values.get("missions_total") ?? 0,
      interventions: values.get("interventions") ?? 0, incidents: incidentTotal }));
    fact(t("dashboard.fact_clock"), kpis.clock === "sim" ? t("dashboard.clock_sim", { now: kpis.now.toFixed(1) })
      : t("dashboard.clock_wall"));
    head.append(title, facts);
    if (pilot.description) head.append(text("p", pilot.description, "hint"));

    const notes = document.createElement("ul");
    notes.className = "hint notes";
    notes.append(...kpis.notes.map((n) => text("li", n)));
    const side = text("div", "", "column");
    const targets = targetsForm(pilot, [...values.keys()], charts.kpi_terms, () => this.refresh());
    side.append(panel(t("dashboard.kpis"), kpiTable(kpis, charts.kpi_terms), notes),
      panel(t("dashboard.targets"), targets),
      panel(t("dashboard.per_robot"), robotTable(charts.robots)));
    const main = text("div", "", "column");
    main.append(...charts.charts.map((c) => {
      const plot = text("div", "", "chart");
      plot.dataset.chart = c.id;
      plot.dataset.testid = "chart";
      plot.id = c.id;
      const section = panel(c.title, plot);
      section.classList.add("chart-panel");
      return section;
    }));
    const grid = text("div", "", "dash-grid");
    grid.append(side, main);
    const events = text("div", "", "dash-events");
    events.append(interventionsPanel(pilot, robots, interventions, open, values.get("interventions") ?? interventions.length,
      () => this.refresh()), incidentsPanel(incidents, incidentTotal));

    purgeCharts(this.dashboard);
    this.dashboard.replaceChildren(head, grid, events);
    this.dashboard.dataset.pilotId = pilot.id;
    this.dashboard.hidden = false;
    for (const row of document.querySelectorAll<HTMLElement>("#pilot-rows tr")) {
      row.classList.toggle("selected", row.dataset.pilotId === pilot.id);
    }
  }
}
