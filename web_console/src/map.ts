// The live map: zones, walls, lanes, places and robots drawn in SVG, in the site's map frame (+y up). Each robot has
// a colour of its own (from its id) for its outline, its tag and its route; its mode fills it (MODE_COLORS, the
// legend). Tags and the places' names live in layers of their own (map_labels.ts), upright, inside the view and clear
// of each other and the robots, placed again at every move, zoom and pan.
// An imported site's occupancy grid lies faintly under it all.
import { file } from "./api";
import { t, term } from "./i18n";
import { LabelLayer, PlaceLabelLayer, type Box, type PlaceName, type Tagged } from "./map_labels";
import type { MapGrid, Robot, SiteMap } from "./types";

const NS = "http://www.w3.org/2000/svg";
const ROBOT_RADIUS = 0.35; // m, drawn size of a robot
/** Which places' names give way first when they compete for room: the places work is sent to, then the rest. */
const NAME_RANK: Record<string, number> = { station: 0, pickup: 0, dropoff: 0, parking: 2 };
export const MODE_COLORS: Record<string, string> = {
  idle: "#2e7d32", moving: "#1565c0", waiting: "#f9a825", acting: "#6a1b9a", paused: "#ef6c00",
  estop: "#c62828", error: "#c62828", charging: "#00838f", docking: "#00838f", manual: "#5d4037",
  offline: "#9e9e9e",
};
/** The robots' own colours: told apart from each other on the light and the dark map; no red (e-stops, closed
 * lanes), no orange (the ring of a robot awaiting a confirmation) and no grey (offline). */
const ROBOT_PALETTE = ["#1f77b4", "#2ca02c", "#9467bd", "#e377c2", "#17becf", "#bcbd22", "#8c564b", "#3f51b5",
  "#00897b", "#ad1457", "#7cb342"];
const assigned = new Map<string, string>();

/** A robot's colour: the palette's entry its id hashes to (FNV-1a), the next free one when another robot of the
 * page has it already (while there are fewer robots than colours). */
export function robotColour(id: string): string {
  let colour = assigned.get(id);
  if (colour) return colour;
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193) >>> 0;
  const taken = new Set(assigned.values());
  const first = hash % ROBOT_PALETTE.length;
  colour = ROBOT_PALETTE[first];
  for (let k = 0; k < ROBOT_PALETTE.length; k++) {
    const candidate = ROBOT_PALETTE[(first + k) % ROBOT_PALETTE.length];
    if (!taken.has(candidate)) {
      colour = candidate;
      break;
    }
  }
  assigned.set(id, colour);
  return colour;
}

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

export interface Route { places: string[]; released: number; passed: number; points: [number, number][] }
export interface TrafficView { closed_lanes: string[]; routes: Record<string, Route> }
/** A zone of the site's zones.yaml as GET /sites/{site}/map gives it. */
export interface Zone {
  name: string; kind: string; polygon: [number, number][]; limit_mps?: number; open?: string; close?: string; entry?: string;
}

function isZone(value: unknown): value is Zone {
  const z = value as Partial<Zone> | null;
  return !!z && typeof z.name === "string" && typeof z.kind === "string" && Array.isArray(z.polygon) && z.polygon.length > 2;
}

/** The zones of the site map that can be drawn. */
export function siteZones(map: SiteMap): Zone[] {
  return (map.zones ?? []).filter(isZone);
}

/** How a zone is named on the map: its name and what it sets. */
export function zoneText(z: Zone): string {
  if (z.kind === "speed_limit" && z.limit_mps != null) return t("map.zone_speed_limit", { name: z.name, limit: z.limit_mps });
  if (z.kind === "hours" && z.open && z.close) return t("map.zone_hours", { name: z.name, open: z.open, close: z.close });
  return `${z.name} · ${term("map.zone_kind", z.kind)}`;
}

interface Marker { g: SVGGElement; pose: SVGGElement; deg: number; robot: Robot }

/** The grids' PNGs by site, fetched with the token (an <image> cannot send it) once a page: object URLs. */
const gridImages = new Map<string, Promise<string>>();

function gridImage(site: string): Promise<string> {
  let url = gridImages.get(site);
  if (!url) {
    url = file(`/sites/${encodeURIComponent(site)}/map/grid`).then(({ blob }) => URL.createObjectURL(blob));
    url.catch(() => gridImages.delete(site)); // asked again by the next map
    gridImages.set(site, url);
  }
  return url;
}

/** The SVG transform that puts a grid's image (drawn top row first at 0,0) into the map frame: its lower-left
 * corner at the origin, turned by the origin's yaw, its top row the far side (+y). */
export function gridTransform(grid: MapGrid): string {
  const [x, y, yaw] = grid.origin;
  const deg = (yaw * 180) / Math.PI;
  return `translate(${x} ${y}) rotate(${deg}) translate(0 ${grid.height * grid.resolution}) scale(1 -1)`;
}

export class MapView {
  /** The whole site, with a margin: the view that Fit shows. */
  readonly home: Box;
  private robots = new Map<string, Marker>();
  private robotLayer: SVGGElement;
  private routeLayer: SVGGElement;
  private laneLines = new Map<string, SVGLineElement>();
  private labels: LabelLayer;
  private placeLabels: PlaceLabelLayer;
  private routes: Record<string, Route> = {};
  private robotListeners: ((robot: Robot) => void)[] = [];
  private trafficListeners: (() => void)[] = [];
  private selectListeners: ((robotId: string) => void)[] = [];
  private layoutPending = false;

  constructor(private svg: SVGSVGElement, map: SiteMap) {
    const { min_x, min_y, max_x, max_y } = map.bounds;
    const pad = 0.8;
    this.home = { x: min_x - pad, y: -(max_y + pad), w: max_x - min_x + 2 * pad, h: max_y - min_y + 2 * pad };
    svg.setAttribute("viewBox", `${this.home.x} ${this.home.y} ${this.home.w} ${this.home.h}`);
    svg.replaceChildren();
    const world = el("g", { transform: "scale(1,-1)" });
    svg.appendChild(world);
    const walls = el("g", { class: "walls" });
    for (const wall of map.walls) {
      walls.appendChild(el("polygon", { points: wall.polygon.map(([x, y]) => `${x},${y}`).join(" ") }));
    }
    const places = new Map(map.places.map((p) => [p.name, p]));
    const lanes = el("g", { class: "lanes" });
    for (const lane of map.lanes) {
      const a = places.get(lane.from);
      const b = places.get(lane.to);
      if (!a || !b) continue;
      const line = el("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, "data-lane-id": lane.id });
      this.laneLines.set(lane.id, line);
      lanes.appendChild(line);
    }
    const placeLayer = el("g", { class: "places" });
    const names: PlaceName[] = [];
    for (const p of map.places) {
      const g = el("g", { class: `place place-${p.kind}`, "data-place": p.name });
      const r = p.kind === "waypoint" ? 0.09 : 0.16;
      g.appendChild(el("circle", { cx: p.x, cy: p.y, r }));
      if (p.kind !== "waypoint" && p.kind !== "charger") {  // chargers: teal dots, see the legend
        names.push({ name: p.name, x: p.x, y: -p.y, r, rank: NAME_RANK[p.kind] ?? 1 });
      }
      placeLayer.appendChild(g);
    }
    this.robotLayer = el("g", { class: "robots" });
    this.routeLayer = el("g", { class: "routes" });
    if (map.grid) world.appendChild(this.grid(map.site, map.grid));
    world.append(this.zones(siteZones(map)), lanes, walls, placeLayer, this.routeLayer, this.robotLayer);
    // over everything, in the SVG's own frame: never mirrored or turned; the robots' tags over the places' names
    this.placeLabels = new PlaceLabelLayer(svg, names);
    this.labels = new LabelLayer(svg);
    svg.addEventListener("click", (e) => {
      const hit = (e.target as Element).closest<SVGGElement>("[data-robot-id]");
      const id = hit?.closest(".robots, .robot-tags") ? hit.dataset.robotId : undefined;
      if (id) this.selectListeners.forEach((f) => f(id));
    });
    this.relabel(); // the places' names, before any robot reports
  }

  /** The occupancy grid the site was imported from, under everything (faint: style.css), a pixel a cell. */
  private grid(site: string, grid: MapGrid): SVGGElement {
    const layer = el("g", { class: "occupancy-grid", "data-testid": "map-grid", transform: gridTransform(grid) });
    const image = el("image", { width: grid.width * grid.resolution, height: grid.height * grid.resolution,
      preserveAspectRatio: "none" });
    layer.appendChild(image);
    gridImage(site).then((url) => image.setAttribute("href", url),
      () => layer.remove()); // the background only: without it the map is drawn as for any other site
    return layer;
  }

  /** The zones of the site, under the lanes: a style per kind and a small label at the top-left corner. */
  private zones(zones: Zone[]): SVGGElement {
    const layer = el("g", { class: "zones" });
    const hatch = `zone-hatch-${this.svg.id || "map"}`;
    const defs = el("defs", {});
    const pattern = el("pattern", { id: hatch, patternUnits: "userSpaceOnUse", width: 0.35, height: 0.35,
      patternTransform: "rotate(45)" });
    pattern.appendChild(el("line", { x1: 0, y1: 0, x2: 0, y2: 0.35, class: "hatch" }));
    defs.appendChild(pattern);
    layer.appendChild(defs);
    for (const z of zones) {
      const g = el("g", { class: `zone zone-${z.kind}`, "data-zone": z.name, "data-kind": z.kind, "data-testid": "map-zone" });
      const points = z.polygon.map(([x, y]) => `${x},${y}`).join(" ");
      g.appendChild(el("polygon", { points, class: "area" }));
      if (z.kind === "no_go") g.appendChild(el("polygon", { points, class: "hatched", fill: `url(#${hatch})` }));
      const left = Math.min(...z.polygon.map((p) => p[0]));
      const top = Math.max(...z.polygon.map((p) => p[1]));
      const label = el("text", { x: left + 0.15, y: -top + 0.42, transform: "scale(1,-1)", class: "zone-label" });
      label.textContent = zoneText(z);
      const title = el("title", {});
      title.textContent = zoneText(z);
      g.append(label, title);
      layer.appendChild(g);
    }
    return layer;
  }

  onRobot(listener: (robot: Robot) => void): void {
    this.robotListeners.push(listener);
  }

  onTraffic(listener: () => void): void {
    this.trafficListeners.push(listener);
  }

  /** A click on a robot (its marker or its tag). */
  onSelect(listener: (robotId: string) => void): void {
    this.selectListeners.push(listener);
  }

  robot(id: string): Robot | undefined {
    return this.robots.get(id)?.robot;
  }

  route(id: string): Route | undefined {
    return this.routes[id];
  }

  /** Each robot's route in its colour: the released part solid, the part still held back dashed; closed lanes red. */
  showTraffic(traffic: TrafficView): void {
    for (const [id, line] of this.laneLines) line.classList.toggle("closed", traffic.closed_lanes.includes(id));
    this.routes = traffic.routes;
    this.routeLayer.replaceChildren();
    for (const [robot, route] of Object.entries(traffic.routes)) {
      const pts = route.points;
      const from = Math.max(route.passed - 1, 0);
      const released = pts.slice(from, Math.max(route.released, from + 1));
      const held = pts.slice(Math.max(route.released - 1, from));
      const colour = robotColour(robot);
      const line = (cls: string, part: [number, number][]) => {
        const node = el("polyline", { class: cls, "data-robot-id": robot, "data-colour": colour,
          points: part.map(([x, y]) => `${x},${y}`).join(" ") });
        node.style.stroke = colour;
        this.routeLayer.appendChild(node);
      };
      if (released.length > 1) line("route released", released);
      if (held.length > 1) line("route planned", held);
    }
    this.trafficListeners.forEach((f) => f());
  }

  /** Draws the robot where it is; a robot without a pose (it never reported) is not drawn. */
  update(robot: Robot): void {
    if (!robot.pose) {
      this.remove(robot.id);
      this.robotListeners.forEach((f) => f(robot));
      return;
    }
    let marker = this.robots.get(robot.id);
    if (!marker) {
      const colour = robotColour(robot.id);
      const g = el("g", { class: "robot", "data-testid": "robot-marker", "data-robot-id": robot.id, "data-colour": colour,
        "data-awaiting": "false" });
      const r = ROBOT_RADIUS;
      g.appendChild(el("circle", { r: r * 1.75, class: "awaiting-ring" }));
      const pose = el("g", { class: "pose" });
      const body = el("circle", { r, class: "body" });
      body.style.stroke = colour;
      pose.appendChild(body);
      pose.appendChild(el("path", { d: `M ${r * 1.5} 0 L ${r * 0.2} ${r * 0.65} L ${r * 0.2} ${-r * 0.65} Z`, class: "heading" }));
      g.appendChild(pose);
      this.robotLayer.appendChild(g);
      marker = { g, pose, deg: 0, robot };
      this.robots.set(robot.id, marker);
    }
    marker.robot = robot;
    // the heading turned the short way round: 179° to -179° is 2°, not a spin through 0°
    const deg = (robot.pose.yaw * 180) / Math.PI;
    marker.deg += ((((deg - marker.deg) % 360) + 540) % 360) - 180;
    marker.g.setAttribute("transform", `translate(${robot.pose.x} ${robot.pose.y})`);
    marker.pose.setAttribute("transform", `rotate(${marker.deg.toFixed(2)})`);
    marker.g.setAttribute("data-mode", robot.mode);
    marker.g.classList.toggle("unregistered", robot.registration === "unregistered");
    marker.g.classList.toggle("localisation-lost", robot.localisation === "lost");
    (marker.g.querySelector(".body") as SVGCircleElement).style.fill = MODE_COLORS[robot.mode] ?? "#607d8b";
    this.relabel();
    this.robotListeners.forEach((f) => f(robot));
  }

  /** A robot whose mission waits for someone's confirmation: a pulsing ring. */
  setAwaiting(robotId: string, awaiting: boolean): void {
    this.robots.get(robotId)?.g.setAttribute("data-awaiting", String(awaiting));
  }

  setSelected(robotId: string | null): void {
    for (const [id, m] of this.robots) m.g.classList.toggle("selected", id === robotId);
  }

  remove(robotId: string): void {
    this.robots.get(robotId)?.g.remove();
    this.robots.delete(robotId);
    this.labels.remove(robotId);
  }

  /** Places the tags again (on the next frame): a robot moved or the view changed. */
  relabel(): void {
    if (this.layoutPending) return;
    this.layoutPending = true;
    requestAnimationFrame(() => {
      this.layoutPending = false;
      this.layout();
    });
  }

  private layout(): void {
    const vb = this.svg.viewBox.baseVal;
    const view = { x: vb.x, y: vb.y, w: vb.width, h: vb.height };
    const ctm = this.svg.getScreenCTM(); // (px per unit of the map)
    const unit = ctm && ctm.a > 0 ? 1 / ctm.a : 0;
    if (!Number.isFinite(unit) || unit <= 0 || this.svg.getBoundingClientRect().width === 0) return; // hidden: placed when shown
    const tagged: Tagged[] = [...this.robots.values()].map(({ robot }) => ({
      id: robot.id, x: robot.pose?.x ?? 0, y: -(robot.pose?.y ?? 0), r: ROBOT_RADIUS * 1.5, text: robot.id, // (its heading's tip)
      colour: robotColour(robot.id),
    }));
    this.svg.style.setProperty("--map-px", unit.toFixed(5)); // the zones' names keep their size on screen
    const tags = this.labels.layout(tagged, view, unit, this.placeLabels.preferred(unit));
    const bodies = tagged.map((r) => ({ x: r.x - r.r, y: r.y - r.r, w: 2 * r.r, h: 2 * r.r }));
    this.placeLabels.layout(view, unit, tags, bodies);
  }
}
