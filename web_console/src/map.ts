// The live map: walls, lanes, places and robots drawn in SVG, in the site's map frame (+y up).
import type { Robot, SiteMap } from "./types";

const NS = "http://www.w3.org/2000/svg";
const ROBOT_RADIUS = 0.35; // m, drawn size of a robot
export const MODE_COLORS: Record<string, string> = {
  idle: "#2e7d32", moving: "#1565c0", waiting: "#f9a825", acting: "#6a1b9a", paused: "#ef6c00",
  estop: "#c62828", error: "#c62828", charging: "#00838f", docking: "#00838f", manual: "#5d4037",
  offline: "#9e9e9e",
};

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

export interface TrafficView {
  closed_lanes: string[];
  routes: Record<string, { places: string[]; released: number; passed: number; points: [number, number][] }>;
}

export class MapView {
  private robots = new Map<string, SVGGElement>();
  private robotLayer: SVGGElement;
  private routeLayer: SVGGElement;
  private laneLines = new Map<string, SVGLineElement>();

  constructor(svg: SVGSVGElement, map: SiteMap) {
    const { min_x, min_y, max_x, max_y } = map.bounds;
    const pad = 0.8;
    svg.setAttribute("viewBox", `${min_x - pad} ${-(max_y + pad)} ${max_x - min_x + 2 * pad} ${max_y - min_y + 2 * pad}`);
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
    for (const p of map.places) {
      const g = el("g", { class: `place place-${p.kind}`, "data-place": p.name });
      g.appendChild(el("circle", { cx: p.x, cy: p.y, r: p.kind === "waypoint" ? 0.09 : 0.16 }));
      if (p.kind !== "waypoint" && p.kind !== "charger") {  // chargers: teal dots, see the legend
        const label = el("text", { x: p.x + 0.22, y: -p.y + 0.1, transform: "scale(1,-1)" });
        label.textContent = p.name;
        g.appendChild(label);
      }
      placeLayer.appendChild(g);
    }
    this.robotLayer = el("g", { class: "robots" });
    this.routeLayer = el("g", { class: "routes" });
    world.append(lanes, walls, placeLayer, this.routeLayer, this.robotLayer);
  }

  /** Each robot's route: the released part solid, the part still held back dashed; closed lanes red. */
  showTraffic(traffic: TrafficView): void {
    for (const [id, line] of this.laneLines) line.classList.toggle("closed", traffic.closed_lanes.includes(id));
    this.routeLayer.replaceChildren();
    for (const [robot, route] of Object.entries(traffic.routes)) {
      const pts = route.points;
      const from = Math.max(route.passed - 1, 0);
      const released = pts.slice(from, Math.max(route.released, from + 1));
      const held = pts.slice(Math.max(route.released - 1, from));
      const attrs = (cls: string, part: [number, number][]) => ({
        class: cls, "data-robot-id": robot, points: part.map(([x, y]) => `${x},${y}`).join(" "),
      });
      if (released.length > 1) this.routeLayer.appendChild(el("polyline", attrs("route released", released)));
      if (held.length > 1) this.routeLayer.appendChild(el("polyline", attrs("route planned", held)));
    }
  }

  /** Draws the robot where it is; a robot without a pose (it never reported) is not drawn. */
  update(robot: Robot): void {
    let g = this.robots.get(robot.id);
    if (!robot.pose) {
      this.remove(robot.id);
      return;
    }
    if (!g) {
      g = el("g", { class: "robot", "data-testid": "robot-marker", "data-robot-id": robot.id });
      const r = ROBOT_RADIUS;
      g.appendChild(el("circle", { r, class: "body" }));
      g.appendChild(el("path", { d: `M ${r * 1.5} 0 L ${r * 0.2} ${r * 0.65} L ${r * 0.2} ${-r * 0.65} Z`, class: "heading" }));
      // labels alternate above and below, so robots side by side (chargers) stay readable
      const below = this.robots.size % 2 === 1;
      const label = el("text", { x: 0, y: below ? r + 0.55 : -(r + 0.25), transform: "scale(1,-1)", class: "robot-label" });
      label.textContent = robot.id;
      const labelGroup = el("g", { class: "label" });
      labelGroup.appendChild(label);
      g.appendChild(labelGroup);
      this.robotLayer.appendChild(g);
      this.robots.set(robot.id, g);
    }
    const deg = (robot.pose.yaw * 180) / Math.PI;
    g.setAttribute("transform", `translate(${robot.pose.x} ${robot.pose.y}) rotate(${deg})`);
    const label = g.querySelector(".label");
    label?.setAttribute("transform", `rotate(${-deg})`);
    g.setAttribute("data-mode", robot.mode);
    g.classList.toggle("unregistered", robot.registration === "unregistered");
    g.classList.toggle("localisation-lost", robot.localisation === "lost");
    (g.querySelector(".body") as SVGCircleElement).style.fill = MODE_COLORS[robot.mode] ?? "#607d8b";
  }

  remove(robotId: string): void {
    this.robots.get(robotId)?.remove();
    this.robots.delete(robotId);
  }
}
