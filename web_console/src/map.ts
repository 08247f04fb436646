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

export class MapView {
  private robots = new Map<string, SVGGElement>();
  private robotLayer: SVGGElement;

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
      lanes.appendChild(el("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, "data-lane-id": lane.id }));
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
    world.append(lanes, walls, placeLayer, this.robotLayer);
  }

  update(robot: Robot): void {
    let g = this.robots.get(robot.id);
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
    (g.querySelector(".body") as SVGCircleElement).style.fill = MODE_COLORS[robot.mode] ?? "#607d8b";
  }
}
