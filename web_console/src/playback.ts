// Playback of a recorded mission (#/missions/ID/playback): the site map with each robot's whole trajectory (its
// travelled part drawn over it), the robots where they were at the current time (interpolated between samples), a
// timeline (play/pause, seek, speed) with the mission's events marked on it, and the event list, the current event
// highlighted (a click seeks to it). Data: GET /missions/{id}/playback (fleet_manager/recording/playback.py).
import { api, ApiError, reason } from "./api";
import { $, badge, cell, text } from "./dom";
import { fileLink } from "./files";
import { t, timeOfDay } from "./i18n";
import { MapView } from "./map";
import { gateLink } from "./session";
import type { Robot, SiteMap } from "./types";

type Sample = [t: number, x: number, y: number, yaw: number, speed: number, mode: string];
interface Track { id: string; kind: string; model: string; source: string; samples: Sample[] }
export interface Playback {
  mission_id: number; site: string; robot_id: string | null; template: string | null; time_source: string;
  status: string | null; start: number; end: number; sample_hz: number; robots: Track[];
  events: [t: number, text: string, kind: string][]; metadata: Record<string, unknown>;
}

const NS = "http://www.w3.org/2000/svg";
export const SPEEDS = [1, 2, 5, 10];
// trajectory colours: distinct from the mode colours that fill the markers
const PALETTE = ["#d81b60", "#1e88e5", "#43a047", "#8e24aa", "#f4511e", "#00897b", "#6d4c41", "#3949ab"];

/** Seconds as m:ss.s, signed (events before the timeline opens are negative). */
export function elapsed(seconds: number): string {
  const sign = seconds < -0.05 ? "−" : "";
  const s = Math.abs(seconds);
  const m = Math.floor(s / 60);
  return `${sign}${m}:${(s - m * 60).toFixed(1).padStart(4, "0")}`;
}

/** The pose of a robot at time t: linear between its samples, the yaw the short way round; held before the first
 * sample and after the last. `hint` is the index found last time (playback moves forward, so it is usually right). */
export function poseAt(samples: Sample[], t: number, hint = 0): { i: number; x: number; y: number; yaw: number; mode: string } {
  let i = Math.min(Math.max(hint, 0), samples.length - 1);
  if (samples[i][0] > t) {
    let lo = 0;
    let hi = i; // samples[hi][0] > t
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (samples[mid][0] <= t) lo = mid + 1;
      else hi = mid;
    }
    i = Math.max(lo - 1, 0);
  } else {
    while (i + 1 < samples.length && samples[i + 1][0] <= t) i++;
  }
  const a = samples[i];
  const b = samples[i + 1];
  if (!b || t <= a[0]) return { i, x: a[1], y: a[2], yaw: a[3], mode: a[5] };
  const f = (t - a[0]) / (b[0] - a[0]);
  const turn = Math.atan2(Math.sin(b[3] - a[3]), Math.cos(b[3] - a[3]));
  return { i, x: a[1] + f * (b[1] - a[1]), y: a[2] + f * (b[2] - a[2]), yaw: a[3] + f * turn, mode: a[5] };
}

/** A moment on the recording's clock: sim seconds ("sim" left out when `bare`), or the time of day in the site's
 * zone when it ran on wall time. */
function clockText(d: Playback, at: number, bare = false): string {
  if (d.time_source === "sim") {
    return bare ? `${at.toFixed(1)} s` : t("recording.sim_clock", { seconds: at.toFixed(1) });
  }
  return timeOfDay(new Date(at * 1000));
}

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string>): SVGElementTagNameMap[K] {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

interface Drawn {
  track: Track; color: string; points: string[]; hint: number; drawnIndex: number; prefix: string;
  travelled: SVGPolylineElement; marker: SVGGElement | null;
}

export class PlaybackView {
  private root = $<HTMLElement>("#playback-view");
  private mapSvg = $<SVGSVGElement>("#playback-map");
  private seek = $<HTMLInputElement>("#playback-seek");
  private toggle = $<HTMLButtonElement>("#playback-toggle");
  private timeLabel = $<HTMLElement>("#playback-time");
  private eventRows: HTMLTableRowElement[] = [];
  private currentEvent = -1;
  private missionId: number | null = null;
  private data: Playback | null = null;
  private drawn: Drawn[] = [];
  private view: MapView | null = null;
  private maps = new Map<string, SiteMap>();
  private now = 0;
  private speed = 1;
  private playing = false;
  private lastFrame: number | null = null;
  private loading = 0; // which load is the latest
  private overlayLayer: SVGGElement | null = null;
  /** Told when a mission starts loading (null) and when its playback is drawn (replay.ts draws over it). */
  readonly onShown: ((data: Playback | null, missionId: number) => void)[] = [];
  /** Told the time on every frame drawn. */
  readonly onTime: ((t: number) => void)[] = [];

  constructor() {
    this.toggle.addEventListener("click", () => (this.playing ? this.pause() : this.play()));
    this.seek.addEventListener("input", () => this.seekTo(Number(this.seek.value)));
    const speeds = $<HTMLElement>("#playback-speeds");
    speeds.replaceChildren(...SPEEDS.map((s) => {
      const b = text("button", `${s}×`, "speed") as HTMLButtonElement;
      b.type = "button";
      b.dataset.speed = String(s);
      b.dataset.testid = "playback-speed";
      b.addEventListener("click", () => this.setSpeed(s));
      return b;
    }));
    this.setSpeed(1);
    fileLink($<HTMLAnchorElement>("#playback-download"));
    document.addEventListener("keydown", (e) => {
      if (this.root.hidden || !this.data || e.key !== " ") return;
      const target = e.target as HTMLElement;
      if (target.closest("input, select, textarea, button")) return;
      e.preventDefault();
      if (this.playing) this.pause();
      else this.play();
    });
  }

  /** Opens the playback of a mission (kept as it was when the same mission is shown again). */
  async show(missionId: number): Promise<void> {
    if (missionId === this.missionId && this.data) return;
    this.pause();
    this.missionId = missionId;
    this.data = null;
    this.overlayLayer = null;
    const load = ++this.loading;
    for (const f of this.onShown) f(null, missionId);
    this.setState("loading");
    $("#playback-title").textContent = t("recording.title", { id: missionId });
    const download = $<HTMLAnchorElement>("#playback-download");
    download.href = `/api/v1/missions/${missionId}/recording`;
    gateLink(download, "researcher");
    $("#playback-note").textContent = t("recording.loading");
    $("#playback-summary").replaceChildren();
    $("#playback-events").replaceChildren();
    try {
      const data = await api<Playback>(`/missions/${missionId}/playback`);
      const map = this.maps.get(data.site) ?? await api<SiteMap>(`/sites/${encodeURIComponent(data.site)}/map`);
      this.maps.set(data.site, map);
      if (load !== this.loading) return; // another mission was opened meanwhile
      this.data = data;
      this.draw(data, map);
      this.seekTo(data.start);
      this.setState("paused");
      $("#playback-note").textContent = data.robots.length ? "" : t("recording.no_poses");
      for (const f of this.onShown) f(data, missionId);
    } catch (err) {
      if (load !== this.loading) return;
      this.setState("error");
      $("#playback-note").textContent = err instanceof ApiError && err.status === 409
        ? t("recording.still_recording", { id: missionId })
        : t("recording.no_playback", { reason: reason(err) });
    }
  }

  /** The playback shown (null while loading or when there is none). */
  get shown(): Playback | null {
    return this.data;
  }

  /** The map layer drawn over the trajectories and under the robots, for other runs of the mission. */
  get overlay(): SVGGElement | null {
    return this.overlayLayer;
  }

  /** The colour a robot's recorded trajectory is drawn in. */
  colorOf(robotId: string): string | undefined {
    return this.drawn.find((r) => r.track.id === robotId)?.color;
  }

  /** Leaves the view: playback stops where it is. */
  hide(): void {
    this.pause();
  }

  play(): void {
    const d = this.data;
    if (!d || this.playing) return;
    if (this.now >= d.end) this.seekTo(d.start); // at the end: from the start again
    this.playing = true;
    this.lastFrame = null;
    this.setState("playing");
    requestAnimationFrame((ts) => this.tick(ts));
  }

  pause(): void {
    if (!this.playing) return;
    this.playing = false;
    this.setState("paused");
  }

  setSpeed(speed: number): void {
    this.speed = speed;
    for (const b of document.querySelectorAll<HTMLButtonElement>("#playback-speeds button")) {
      const on = Number(b.dataset.speed) === speed;
      b.classList.toggle("active", on);
      b.setAttribute("aria-pressed", String(on));
    }
    this.root.dataset.speed = String(speed);
  }

  seekTo(t: number): void {
    const d = this.data;
    if (!d) return;
    this.now = Math.min(Math.max(t, d.start), d.end);
    this.render();
  }

  private tick(ts: number): void {
    const d = this.data;
    if (!this.playing || !d) return;
    if (this.lastFrame !== null) {
      const dt = Math.min(ts - this.lastFrame, 250) / 1000; // a tab in the background: no leap on return
      this.now = Math.min(this.now + dt * this.speed, d.end);
    }
    this.lastFrame = ts;
    this.render();
    if (this.now >= d.end) {
      this.pause();
      return;
    }
    requestAnimationFrame((next) => this.tick(next));
  }

  private setState(state: "loading" | "error" | "paused" | "playing"): void {
    this.root.dataset.state = state;
    this.root.dataset.missionId = String(this.missionId ?? "");
    this.toggle.textContent = state === "playing" ? t("recording.pause_button") : t("playback.play");
    this.toggle.setAttribute("aria-label", state === "playing" ? t("recording.pause_label") : t("recording.play_label"));
    this.toggle.disabled = state === "loading" || state === "error";
    this.seek.disabled = this.toggle.disabled;
  }

  // -- drawing ------------------------------------------------------------------------------------------
  private draw(d: Playback, map: SiteMap): void {
    const view = new MapView(this.mapSvg, map);
    const robots = this.mapSvg.querySelector("g.robots");
    const paths = svg("g", { class: "trajectories" });
    this.overlayLayer = svg("g", { class: "overlay" });
    robots?.before(paths, this.overlayLayer);
    this.drawn = d.robots.filter((t) => t.samples.length).map((track, k) => {
      const color = PALETTE[k % PALETTE.length];
      const points = track.samples.map((s) => `${s[1]},${s[2]}`);
      const attrs = (cls: string, pts: string) => ({ class: cls, points: pts, stroke: color, "data-robot-id": track.id });
      const whole = svg("polyline", { ...attrs("trajectory", points.join(" ")), "data-testid": "trajectory" });
      const travelled = svg("polyline", { ...attrs("travelled", ""), "data-testid": "travelled" });
      paths.append(whole, travelled);
      const first = track.samples[0];
      const end = track.samples[track.samples.length - 1];
      paths.append(svg("circle", { class: "track-start", cx: String(first[1]), cy: String(first[2]), r: "0.16", stroke: color }),
        svg("circle", { class: "track-end", cx: String(end[1]), cy: String(end[2]), r: "0.16", fill: color }));
      return { track, color, points, hint: 0, drawnIndex: -1, prefix: "", travelled, marker: null } satisfies Drawn;
    });
    for (const r of this.drawn) {
      this.place(view, r, d.start);
      r.marker = this.mapSvg.querySelector<SVGGElement>(`g.robot[data-robot-id="${CSS.escape(r.track.id)}"]`);
      r.marker?.setAttribute("data-testid", "playback-marker");
      r.marker?.querySelector<SVGCircleElement>(".body")?.style.setProperty("stroke", r.color);
    }
    this.view = view;
    this.seek.min = String(d.start);
    this.seek.max = String(d.end);
    this.seek.step = "any";
    const span = Math.max(d.end - d.start, 1e-9);
    $("#playback-ticks").replaceChildren(...d.events.filter(([t]) => t >= d.start && t <= d.end).map(([t, label, kind]) => {
      const tick = text("span", "", `tick tick-${kind}`);
      tick.style.left = `${(100 * (t - d.start)) / span}%`;
      tick.title = label;
      return tick;
    }));
    this.summary(d);
    this.eventRows = d.events.map(([at, label, kind], i) => {
      const tr = document.createElement("tr");
      tr.dataset.testid = "playback-event";
      tr.dataset.t = String(at);
      tr.dataset.kind = kind;
      tr.className = `event-${kind}`;
      tr.append(cell(elapsed(at - d.start)), cell(label));
      tr.title = t("recording.seek_to", { time: elapsed(at - d.start) });
      tr.addEventListener("click", () => {
        this.seekTo(at);
        this.markEvent(i); // an event before the timeline opens is still the one clicked
      });
      return tr;
    });
    this.currentEvent = -1;
    $("#playback-events").replaceChildren(...this.eventRows);
  }

  private summary(d: Playback): void {
    const dl = document.createElement("dl");
    const item = (label: string, value: Node | string) => {
      const dd = document.createElement("dd");
      dd.append(value);
      dl.append(text("dt", label), dd);
    };
    item(t("recording.summary_mission"), `#${d.mission_id} · ${d.template || t("recording.inline_spec")}`);
    if (d.status) item(t("recording.summary_outcome"), badge(d.status));
    const span = elapsed(d.end - d.start);
    item(t("recording.summary_duration"), d.time_source === "sim" ? t("recording.duration_sim", { span })
      : t("recording.duration_wall", { span }));
    item(t("recording.summary_recorded"), `${clockText(d, d.start)} → ${clockText(d, d.end, true)}`);
    const robots = document.createElement("span");
    robots.className = "robot-keys";
    for (const r of this.drawn) {
      const key = text("span", r.track.id, "robot-key");
      key.style.setProperty("--c", r.color);
      const track = { kind: r.track.kind, model: r.track.model };
      key.title = r.track.source === "odom" ? t("recording.track_odometry", track) : t("recording.track_states", track);
      robots.append(key);
    }
    item(t("recording.summary_robots"), this.drawn.length ? robots : t("recording.none_recorded"));
    $("#playback-summary").replaceChildren(dl);
  }

  private place(view: MapView, r: Drawn, t: number): void {
    const p = poseAt(r.track.samples, t, r.hint);
    r.hint = p.i;
    const robot = { id: r.track.id, kind: r.track.kind, model: r.track.model, mode: p.mode || "moving",
      pose: { x: p.x, y: p.y, yaw: p.yaw } } as Robot;
    view.update(robot);
    const before = t < r.track.samples[0][0];
    if (r.drawnIndex !== p.i || before) {
      r.drawnIndex = before ? -1 : p.i;
      r.prefix = before ? "" : r.points.slice(0, p.i + 1).join(" ");
    }
    r.travelled.setAttribute("points", before ? "" : `${r.prefix} ${p.x},${p.y}`);
    r.marker?.classList.toggle("not-yet", before);
  }

  private render(): void {
    const d = this.data;
    if (!d || !this.view) return;
    for (const r of this.drawn) this.place(this.view, r, this.now);
    this.seek.value = String(this.now);
    const span = d.end - d.start;
    this.seek.style.setProperty("--done", `${span > 0 ? (100 * (this.now - d.start)) / span : 0}%`);
    this.timeLabel.textContent = `${elapsed(this.now - d.start)} / ${elapsed(span)}`;
    this.timeLabel.dataset.t = this.now.toFixed(3);
    $("#playback-clock").textContent = clockText(d, this.now);
    for (const f of this.onTime) f(this.now);
    let current = -1;
    d.events.forEach(([t], i) => { if (t <= this.now + 1e-6) current = i; });
    if (current !== this.currentEvent) this.markEvent(current);
  }

  private markEvent(index: number): void {
    this.currentEvent = index;
    this.eventRows.forEach((tr, i) => {
      tr.classList.toggle("current", i === index);
      if (i === index) tr.setAttribute("aria-current", "true");
      else tr.removeAttribute("aria-current");
    });
    const row = this.eventRows[index];
    const box = row?.closest<HTMLElement>(".events-box");
    if (row && box) { // keep the current event in sight, without scrolling the page
      if (row.offsetTop < box.scrollTop) box.scrollTop = row.offsetTop;
      else if (row.offsetTop + row.offsetHeight > box.scrollTop + box.clientHeight) {
        box.scrollTop = row.offsetTop + row.offsetHeight - box.clientHeight;
      }
    }
  }
}
