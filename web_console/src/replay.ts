// Re-simulation of a recorded mission, from its playback view: what-if overrides, POST /missions/{id}/replay,
// GET /replays/{id} polled until the worker is done, then the comparison side by side (duration, distance, energy,
// path deviation, step events, KPIs: fleet_manager/replay/compare.py) and the re-simulated trajectory drawn dashed
// over the recorded one on the playback map, with a ghost marker where the re-simulated robot is at the playback's
// time (the result's trajectories: [t from the run's start, x, y] at 1 Hz; runs.py Run.summary).
import { api, post, reason } from "./api";
import { gate } from "./session";
import { $, badge, cell, text } from "./dom";
import { t, term } from "./i18n";
import { elapsed, svg, type Playback, type PlaybackView } from "./playback";

interface Side {
  robot_id: string; outcome: string; reason: string; duration_s: number | null; distance_m: number | null;
  energy_wh: number | null;
}
interface PathDeviation {
  frechet_m: number | null; dtw_m: number | null; dtw_mean_m: number | null; spacing_m: number; points: number[];
}
interface EventPair {
  step_index: number | null; status: string | null; original_t: number | null; replay_t: number | null;
  delta_s: number | null; original_message: string | null; replay_message: string | null;
}
interface MissionComparison {
  mission_id: number; original: Side; replay: Side; path: PathDeviation; events: EventPair[];
  delta: { duration_s: number | null; distance_m: number | null; duration_ratio: number | null };
}
type Kpis = Record<string, number | null>;
export interface Comparison { missions: MissionComparison[]; kpis: { original: Kpis; replay: Kpis }; same_outcome: boolean }
type Row = [t: number, x: number, y: number];
interface ReplayResult {
  site: string; seed: number | null; start_s?: number | null; sim_s: number | null;
  trajectories: Record<string, Row[]>; trajectory_digests?: Record<string, { sha256: string; samples: number }>;
  injected: { t: number; robot_id: string; event: string; result: string }[];
  contacts: { t: number; robot_id: string; other: string }[];
}
export interface Replay {
  id: number; mission_id: number; status: "queued" | "running" | "done" | "error"; overrides: Record<string, unknown>;
  position?: number | null;  // queued: its place in the site's queue (1 starts next)
  seed: number | null; created_at: string; finished_at: string | null; sim_s: number | null; wall_s: number | null;
  speedup: number | null; error: string | null; result: ReplayResult | null; comparison: Comparison | null;
}

const POLL_MS = 500;
const MOVED_S = 0.5; // an event this much earlier or later is marked
/** The display labels of the KPIs, by KPI name (the names stay as the API sends them). */
const KPI_LABELS = (): Record<string, string> => ({
  missions_total: t("recording.kpi_missions_total"), missions_completed: t("recording.kpi_missions_completed"),
  missions_failed: t("recording.kpi_missions_failed"), missions_canceled: t("recording.kpi_missions_canceled"),
  success_rate: t("recording.kpi_success_rate"), mean_duration_s: t("recording.kpi_mean_duration_s"),
  p95_duration_s: t("recording.kpi_p95_duration_s"), distance_km: t("recording.kpi_distance_km"),
  operating_h: t("recording.kpi_operating_h"), energy_wh_per_km: t("recording.kpi_energy_wh_per_km"),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function fixed(v: number | null | undefined, digits: number, unit = ""): string {
  return v === null || v === undefined ? "–" : `${v.toFixed(digits)}${unit ? ` ${unit}` : ""}`;
}

function signed(v: number | null | undefined, digits: number, unit = ""): string {
  if (v === null || v === undefined) return "–";
  const zero = Math.abs(v) < 0.5 * 10 ** -digits;
  return `${zero ? "±" : v > 0 ? "+" : "−"}${Math.abs(v).toFixed(digits)}${unit ? ` ${unit}` : ""}`;
}

const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);

/** A whole number shown as such, a fraction with up to 3 decimals. */
function figure(v: number | null | undefined): string {
  if (v === null || v === undefined) return "–";
  return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(3)));
}

/** Where a 1 Hz trajectory is at `t` seconds from its start: linear between rows, held outside them. */
export function rowAt(rows: Row[], t: number): [number, number] {
  if (t <= rows[0][0]) return [rows[0][1], rows[0][2]];
  let lo = 0;
  let hi = rows.length - 1;
  if (t >= rows[hi][0]) return [rows[hi][1], rows[hi][2]];
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (rows[mid][0] <= t) lo = mid;
    else hi = mid;
  }
  const [a, b] = [rows[lo], rows[hi]];
  const f = (t - a[0]) / (b[0] - a[0]);
  return [a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

function table(testid: string, head: string[], rows: HTMLTableRowElement[], cls = ""): HTMLTableElement {
  const grid = document.createElement("table");
  grid.className = `grid replay-table ${cls}`.trim();
  grid.dataset.testid = testid;
  const tr = document.createElement("tr");
  tr.append(...head.map((h) => text("th", h)));
  const thead = document.createElement("thead");
  thead.append(tr);
  const tbody = document.createElement("tbody");
  tbody.append(...rows);
  grid.append(thead, tbody);
  return grid;
}

function row(testid: string, key: string, cells: (Node | string)[], cls = ""): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.testid = testid;
  tr.dataset.key = key;
  if (cls) tr.className = cls;
  tr.append(...cells.map((c, i) => {
    const td = cell(c);
    if (i > 0) td.className = "num";
    return td;
  }));
  return tr;
}

function spanning(testid: string, key: string, label: string, value: string): HTMLTableRowElement {
  const tr = row(testid, key, [label]);
  const td = cell(value);
  td.colSpan = 3;
  td.className = "num";
  tr.append(td);
  return tr;
}

/** The figures of one mission side by side: recorded, re-simulated, the difference. */
function figures(m: MissionComparison): HTMLTableElement {
  const a = m.original;
  const b = m.replay;
  const outcome = (s: Side) => {
    const span = document.createElement("span");
    span.append(badge(s.outcome));
    if (s.reason && s.reason !== s.outcome) span.append(text("span", ` ${s.reason}`, "sub"));
    return span;
  };
  const ratio = m.delta.duration_ratio === null ? "" : ` (×${m.delta.duration_ratio.toFixed(2)})`;
  const p = m.path;
  return table("replay-table", ["", t("recording.col_recorded"), t("recording.col_resimulated"), "Δ"], [
    row("replay-row", "robot", [t("recording.row_robot"), a.robot_id, b.robot_id,
      a.robot_id === b.robot_id ? t("recording.same") : t("recording.other")]),
    row("replay-row", "outcome", [t("recording.row_outcome"), outcome(a), outcome(b),
      a.outcome === b.outcome ? t("recording.same") : t("recording.differs")], a.outcome === b.outcome ? "" : "moved"),
    row("replay-row", "duration", [t("recording.row_duration"), fixed(a.duration_s, 1, "s"), fixed(b.duration_s, 1, "s"),
      signed(m.delta.duration_s, 1, "s") + ratio]),
    row("replay-row", "distance", [t("recording.row_distance"), fixed(a.distance_m, 2, "m"), fixed(b.distance_m, 2, "m"),
      signed(m.delta.distance_m, 2, "m")]),
    row("replay-row", "energy", [t("recording.row_energy"), fixed(a.energy_wh, 2, "Wh"), fixed(b.energy_wh, 2, "Wh"),
      signed(diff(a.energy_wh, b.energy_wh), 2, "Wh")]),
    spanning("replay-row", "frechet", t("recording.row_frechet"), fixed(p.frechet_m, 2, "m")),
    spanning("replay-row", "dtw", t("recording.row_dtw"),
      t("recording.dtw_value", { mean: fixed(p.dtw_mean_m, 3, "m"), total: fixed(p.dtw_m, 1, "m") })),
  ], "replay-figures");
}

/** A step of the recorded mission in a few words ("go_to ward_bed_2"), from the recording's metadata. */
function stepText(steps: unknown, index: number | null): string {
  const s = Array.isArray(steps) && index !== null ? (steps[index] as Record<string, unknown> | undefined) : undefined;
  if (!s || typeof s !== "object") return "";
  const what = s.target ?? s.zone ?? s.action ?? s.prompt ?? (s.seconds != null ? `${s.seconds} s` : null);
  return `${s.kind ?? ""}${what != null ? ` ${what}` : ""}`;
}

/** The step events of both runs, matched, seconds from the mission's start. */
function events(m: MissionComparison, steps: unknown): HTMLElement {
  const rows = m.events.map((e, i) => {
    const moved = e.delta_s === null || Math.abs(e.delta_s) >= MOVED_S;
    const step = stepText(steps, e.step_index);
    const what = `${e.step_index ?? "–"}${step ? ` ${step}` : ""} · ${e.status ? term("step-status", e.status) : ""}`;
    const tr = row("replay-event", String(i), [what, e.original_t === null ? "–" : elapsed(e.original_t),
      e.replay_t === null ? "–" : elapsed(e.replay_t), signed(e.delta_s, 1, "s")], moved ? "moved" : "");
    tr.title = [e.original_message && t("recording.recorded_message", { message: e.original_message }),
      e.replay_message && t("recording.resimulated_message", { message: e.replay_message })].filter(Boolean).join("\n");
    return tr;
  });
  const box = text("div", "", "events-box replay-events-box");
  box.append(table("replay-events", [t("recording.col_step"), t("recording.col_recorded"), t("recording.col_resimulated"), "Δ"],
    rows));
  return box;
}

function kpis(k: Comparison["kpis"]): HTMLTableElement {
  const labels = KPI_LABELS();
  const head = [t("recording.col_kpi"), t("recording.col_recorded"), t("recording.col_resimulated")];
  return table("replay-kpis", head, Object.keys(k.original).map((name) => {
    const a = k.original[name];
    const b = k.replay[name];
    return row("replay-kpi", name, [labels[name] ?? name.replaceAll("_", " "), figure(a), figure(b)],
      figure(a) === figure(b) ? "" : "moved");
  }));
}

function block(title: string, ...content: Node[]): HTMLElement {
  const div = text("div", "", "replay-block");
  div.append(text("h3", title), ...content);
  return div;
}

export class ReplayPanel {
  private panel = $<HTMLElement>("#replay-panel");
  private form = $<HTMLFormElement>("#replay-form");
  private startButton = $<HTMLButtonElement>("#replay-start");
  private status = $<HTMLElement>("#replay-status");
  private out = $<HTMLElement>("#replay-result");
  private missionId: number | null = null;
  private replay: Replay | null = null;
  private run = 0; // which request is the latest
  private ghosts: { rows: Row[]; marker: SVGCircleElement }[] = [];
  private origin = 0; // the playback time (sim seconds) the re-simulated run starts at

  constructor(private playback: PlaybackView) {
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.start();
    });
    playback.onShown.push((data, missionId) => this.shown(data, missionId));
    playback.onTime.push((t) => this.moveGhosts(t));
    this.setState("idle");
  }

  /** Brings the panel into view (#/missions/ID/replay). */
  focus(): void {
    this.panel.scrollIntoView({ block: "start" });
    $<HTMLInputElement>("#replay-max-speed").focus({ preventScroll: true });
  }

  private shown(data: Playback | null, missionId: number): void {
    if (missionId !== this.missionId) { // another mission: its own re-simulations
      this.missionId = missionId;
      this.replay = null;
      this.run++;
      this.out.replaceChildren();
      this.status.textContent = t("replay.intro");
      this.setState("idle");
    }
    this.startButton.disabled = !data || this.panel.dataset.state === "running";
    gate(this.startButton, "researcher");
    if (data && this.replay?.status === "done") this.drawOverlay(this.replay, data);
  }

  /** The form as overrides (resim.py); throws the reason a field is wrong. */
  private overrides(): Record<string, number | string> {
    const out: Record<string, number | string> = {};
    const number = (id: string, key: string, ok: (v: number) => boolean, rule: string) => {
      const raw = $<HTMLInputElement>(id).value.trim();
      if (!raw) return;
      const v = Number(raw);
      if (!Number.isFinite(v) || !ok(v)) throw new Error(t("recording.invalid_override", { key, rule, value: raw }));
      out[key] = v;
    };
    number("#replay-max-speed", "max_speed", (v) => v > 0, t("recording.rule_speed"));
    number("#replay-speed-factor", "speed_factor", (v) => v > 0 && v <= 1, t("recording.rule_factor"));
    number("#replay-seed", "seed", (v) => Number.isInteger(v), t("recording.rule_seed"));
    if ($<HTMLInputElement>("#replay-events-off").checked) out.events = "off";
    return out;
  }

  private async start(): Promise<void> {
    const missionId = this.missionId;
    if (missionId === null || !this.playback.shown) return;
    let overrides: Record<string, number | string>;
    try {
      overrides = this.overrides();
    } catch (err) {
      this.status.textContent = (err as Error).message;
      this.setState("error");
      return;
    }
    const run = ++this.run;
    this.setState("running");
    this.startButton.disabled = true;
    this.status.textContent = t("recording.starting");
    try {
      let r = await post<Replay>(`/missions/${missionId}/replay`, { overrides });
      const began = performance.now();
      while (r.status === "running" || r.status === "queued") {
        if (run !== this.run) return;
        this.panel.dataset.replayId = String(r.id);
        this.status.textContent = r.status === "queued"  // re-simulations take turns (one at a time per site)
          ? t("recording.replay_queued", { id: r.id, position: r.position ?? 1 })
          : t("recording.resimulating", { id: r.id, seconds: ((performance.now() - began) / 1000).toFixed(0) });
        await sleep(POLL_MS);
        r = await api<Replay>(`/replays/${r.id}`);
      }
      if (run !== this.run) return;
      this.showReplay(r);
    } catch (err) {
      if (run !== this.run) return;
      this.status.textContent = t("recording.resim_failed", { reason: reason(err) });
      this.setState("error");
    } finally {
      if (run === this.run) {
        this.startButton.disabled = !this.playback.shown;
        gate(this.startButton, "researcher");
      }
    }
  }

  private setState(state: "idle" | "running" | "done" | "error"): void {
    this.panel.dataset.state = state;
    if (state === "idle") this.panel.dataset.replayId = "";
  }

  private showReplay(r: Replay): void {
    this.replay = r;
    this.panel.dataset.replayId = String(r.id);
    if (r.status !== "done" || !r.comparison || !r.result) {
      this.status.textContent = t("recording.replay_failed", { id: r.id, error: r.error ?? t("recording.no_result") });
      this.out.replaceChildren();
      this.setState("error");
      return;
    }
    this.status.textContent = this.describe(r);
    const c = r.comparison;
    const parts: Node[] = [];
    for (const m of c.missions) {
      const steps = this.playback.shown?.metadata.steps;
      parts.push(block(t("recording.mission", { id: m.mission_id }), figures(m)),
        block(t("recording.step_events"), events(m, steps)));
    }
    parts.push(block(t("recording.kpis"), kpis(c.kpis)));
    const grid = text("div", "", "replay-grid");
    grid.append(...parts);
    this.out.replaceChildren(grid);
    this.setState("done");
    const data = this.playback.shown;
    if (data) this.drawOverlay(r, data);
  }

  /** One line: what was run, how fast, with what, and what was injected. */
  private describe(r: Replay): string {
    const res = r.result as ReplayResult;
    const overrides = Object.entries(r.overrides).map(([k, v]) => `${k}=${v}`).join(", ");
    const injected = res.injected.map((i) => t("recording.injected_at", { event: i.event, time: elapsed(i.t) })).join(", ");
    const digest = Object.values(res.trajectory_digests ?? {})[0];
    const ran = { id: r.id, sim: fixed(r.sim_s, 1, "s"), wall: fixed(r.wall_s, 2, "s") };
    return [r.speedup ? t("recording.ran_speedup", { ...ran, speedup: Math.round(r.speedup) }) : t("recording.ran", ran),
      t("recording.seed", { seed: r.seed ?? "–" }),
      overrides ? t("recording.overrides", { overrides }) : t("replay.as_recorded"),
      injected ? t("recording.injected", { injected }) : "",
      res.contacts.length ? t("recording.contacts", { count: res.contacts.length }) : "",
      digest ? t("recording.digest", { digest: digest.sha256.slice(0, 12) }) : ""].filter(Boolean).join(" · ");
  }

  /** The re-simulated trajectories, dashed, in the colours of the recorded ones; a ghost marker on each. */
  private drawOverlay(r: Replay, data: Playback): void {
    const layer = this.playback.overlay;
    const res = r.result;
    if (!layer || !res) return;
    layer.replaceChildren();
    this.ghosts = [];
    this.origin = res.start_s ?? data.start;
    for (const [robot, rows] of Object.entries(res.trajectories)) {
      if (!rows.length) continue;
      const color = this.playback.colorOf(robot) ?? "#37474f";
      layer.append(svg("polyline", {
        class: "resim-trajectory", "data-testid": "resim-trajectory", "data-robot-id": robot, stroke: color,
        points: rows.map(([, x, y]) => `${x},${y}`).join(" "),
      }));
      const marker = svg("circle", { class: "resim-ghost", "data-testid": "resim-ghost", "data-robot-id": robot,
        r: "0.3", stroke: color });
      layer.append(marker);
      this.ghosts.push({ rows, marker });
    }
    const now = Number($<HTMLElement>("#playback-time").dataset.t ?? data.start);
    this.moveGhosts(Number.isFinite(now) ? now : data.start);
  }

  private moveGhosts(t: number): void {
    for (const g of this.ghosts) {
      const [x, y] = rowAt(g.rows, t - this.origin);
      g.marker.setAttribute("cx", x.toFixed(3));
      g.marker.setAttribute("cy", y.toFixed(3));
    }
  }
}
