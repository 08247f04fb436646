import "./style.css";
import { ApiError, api, post, telemetryUrl } from "./api";
import { MapView, MODE_COLORS } from "./map";
import type { Frame, Mission, Robot, SiteMap, Template } from "./types";

const $ = <T extends Element>(sel: string) => document.querySelector(sel) as T;
const robots = new Map<string, Robot>();
const missions = new Map<number, Mission>();
let templates: Template[] = [];
let placeNames: string[] = [];
let mapView: MapView | null = null;
const TERMINAL = new Set(["completed", "failed", "canceled"]);

function text(tag: string, value: string, cls = ""): HTMLElement {
  const node = document.createElement(tag);
  node.textContent = value;
  if (cls) node.className = cls;
  return node;
}

function button(label: string, onClick: () => void, cls = ""): HTMLButtonElement {
  const b = text("button", label, `small ${cls}`) as HTMLButtonElement;
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

async function command(robotId: string, cmd: string): Promise<void> {
  try {
    await post(`/robots/${encodeURIComponent(robotId)}/commands`, { command: cmd });
  } catch (err) {
    alert(`${robotId} ${cmd}: ${(err as Error).message}`);
  }
}

function renderRobots(): void {
  const body = $("#robots tbody");
  body.replaceChildren(
    ...[...robots.values()].sort((a, b) => a.id.localeCompare(b.id)).map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.testid = "robot-row";
      tr.dataset.robotId = r.id;
      const mode = text("span", r.mode, "badge");
      mode.style.background = MODE_COLORS[r.mode] ?? "#607d8b";
      const actions = document.createElement("td");
      actions.className = "actions";
      actions.append(
        button("Pause", () => command(r.id, "pause")),
        button("Resume", () => command(r.id, "resume")),
        button("E-stop", () => command(r.id, "estop"), "danger"),
        button("Release", () => command(r.id, "release")),
      );
      const modeCell = document.createElement("td");
      modeCell.append(mode);
      const name = document.createElement("td");
      name.append(text("div", r.id, "mono"), text("div", `${r.kind} · ${r.model}`, "sub"));
      tr.append(name, modeCell,
        text("td", `${r.battery.percentage.toFixed(0)}%`), text("td", r.current_mission_id ? `#${r.current_mission_id}` : "–"),
        actions);
      return tr;
    }),
  );
}

function renderMissions(): void {
  const body = $("#missions tbody");
  const rows = [...missions.values()].sort((a, b) => b.id - a.id).slice(0, 40).map((m) => {
    const tr = document.createElement("tr");
    tr.dataset.testid = "mission-row";
    tr.dataset.missionId = String(m.id);
    tr.dataset.status = m.status;
    const status = document.createElement("td");
    status.append(text("span", m.status, `badge status-${m.status}`));
    if (m.failure_reason) status.title = m.failure_reason;
    const actions = document.createElement("td");
    if (!TERMINAL.has(m.status)) {
      actions.append(button("Cancel", async () => {
        try {
          upsertMission(await post<Mission>(`/missions/${m.id}/cancel`));
        } catch (err) {
          alert((err as Error).message);
        }
      }));
    }
    const done = m.steps.filter((s) => s.status === "done").length;
    tr.append(text("td", String(m.id), "mono"), text("td", `${m.template ?? "inline"} (${done}/${m.steps.length})`),
      text("td", m.robot_id ?? "–"), status, actions);
    return tr;
  });
  body.replaceChildren(...rows);
}

function upsertMission(m: Mission): void {
  missions.set(m.id, m);
  renderMissions();
}

function renderParams(): void {
  const template = templates.find((t) => t.name === ($("#template") as HTMLSelectElement).value);
  const box = $("#params");
  box.replaceChildren();
  $("#template-help").textContent = template ? template.description : "";
  for (const p of template?.params ?? []) {
    const label = text("label", `${p.name}${p.required ? " *" : ""}`);
    label.title = p.description;
    let input: HTMLInputElement | HTMLSelectElement;
    if (p.type === "place") {
      input = document.createElement("select");
      if (!p.required || p.default === null) input.append(new Option("—", ""));
      for (const name of placeNames) input.append(new Option(name, name));
      input.value = typeof p.default === "string" ? p.default : "";
    } else if (p.type === "boolean") {
      input = document.createElement("input");
      input.type = "checkbox";
      input.checked = p.default === true;
    } else {
      input = document.createElement("input");
      input.type = p.type === "integer" || p.type === "number" ? "number" : "text";
      if (p.type === "number") input.step = "any";
      input.value = p.default === null || p.default === undefined ? "" : String(p.default);
    }
    input.name = p.name;
    input.dataset.type = p.type;
    label.append(input);
    box.append(label);
  }
}

async function dispatch(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const form = event.target as HTMLFormElement;
  const error = $("#form-error") as HTMLElement;
  error.hidden = true;
  const params: Record<string, unknown> = {};
  for (const input of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>("#params [name]")) {
    const type = input.dataset.type;
    if (type === "boolean") params[input.name] = (input as HTMLInputElement).checked;
    else if (input.value === "") continue;
    else if (type === "integer" || type === "number") params[input.name] = Number(input.value);
    else params[input.name] = input.value;
  }
  const data = new FormData(form);
  try {
    const mission = await post<Mission>("/missions", { template: data.get("template"), params, priority: data.get("priority") });
    upsertMission(mission);
  } catch (err) {
    error.textContent = err instanceof ApiError ? err.message : `request failed: ${(err as Error).message}`;
    error.hidden = false;
  }
}

function connect(attempt = 0): void {
  const status = $("#ws-status") as HTMLElement;
  const ws = new WebSocket(telemetryUrl());
  ws.onopen = () => {
    attempt = 0;
    status.textContent = "live";
    status.dataset.state = "live";
  };
  ws.onmessage = (event) => {
    const frame = JSON.parse(event.data) as Frame;
    if (frame.type === "robot_state") {
      const { type: _type, ...robot } = frame;
      robots.set(robot.id, robot);
      mapView?.update(robot);
      scheduleRobots();
    } else if (frame.type === "mission_event") {
      upsertMission(frame.mission);
    } else if (frame.type === "mission_step") {
      const m = missions.get(frame.mission_id);
      const step = m?.steps.find((s) => s.index === frame.step_index);
      if (m && step) {
        step.status = frame.status;
        renderMissions();
      }
    }
  };
  ws.onclose = () => {
    status.textContent = "reconnecting";
    status.dataset.state = "down";
    setTimeout(() => connect(attempt + 1), Math.min(10_000, 500 * 2 ** attempt));
  };
}

let robotsPending = false;
function scheduleRobots(): void {  // the table is redrawn at most once per frame
  if (robotsPending) return;
  robotsPending = true;
  requestAnimationFrame(() => {
    robotsPending = false;
    renderRobots();
  });
}

async function pollHealth(): Promise<void> {
  try {
    const h = await api<{ sim_time: number | null }>("/health");
    $("#sim-time").textContent = h.sim_time === null ? "–" : `${h.sim_time.toFixed(1)} s`;
  } catch {
    $("#sim-time").textContent = "–";
  }
}

async function start(): Promise<void> {
  const sites = await api<{ site: string; active: boolean }[]>("/sites");
  const site = sites.find((s) => s.active)?.site ?? sites[0]?.site;
  $("#site-name").textContent = site ?? "no site";
  const [map, tpls, list, robotList] = await Promise.all([
    api<SiteMap>(`/sites/${site}/map`), api<Template[]>("/mission-templates"),
    api<Mission[]>("/missions?limit=40"), api<Robot[]>("/robots"),
  ]);
  placeNames = map.places.map((p) => p.name).sort();
  mapView = new MapView($("#map"), map);
  for (const r of robotList) {
    robots.set(r.id, r);
    mapView.update(r);
  }
  renderRobots();
  for (const m of list) missions.set(m.id, m);
  renderMissions();
  templates = tpls;
  const select = $("#template") as HTMLSelectElement;
  select.replaceChildren(...tpls.map((t) => new Option(t.name, t.name)));
  select.addEventListener("change", renderParams);
  renderParams();
  ($("#dispatch") as HTMLFormElement).addEventListener("submit", (e) => void dispatch(e as SubmitEvent));
  $("#legend").replaceChildren(...Object.entries(MODE_COLORS).filter(([m]) => m !== "error").map(([mode, color]) => {
    const item = text("span", mode, "legend-item");
    item.style.setProperty("--c", color);
    return item;
  }));
  connect();
  void pollHealth();
  setInterval(pollHealth, 1000);
}

start().catch((err) => {
  document.body.prepend(text("div", `The console could not start: ${(err as Error).message}`, "fatal"));
});
