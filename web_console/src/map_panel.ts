// The live map's panel (issue 18), around the MapView: zoom and pan (map_view.ts) with the +, − and Fit buttons, a
// robot's card on a click (robot_card.ts), the robots whose mission waits for a confirmation marked, the legend's
// entries for that, the routes and the site's zones, and the fleet-wide stop (fleet_stop.ts).
import { $, text } from "./dom";
import { FleetStop } from "./fleet_stop";
import { t, term } from "./i18n";
import { siteZones, type MapView } from "./map";
import { MapZoom } from "./map_view";
import { RobotCard } from "./robot_card";
import { RobotHistory } from "./robot_history";
import { awaitingStep, type MissionStore, TERMINAL } from "./store";
import type { Robot, SiteMap } from "./types";

export class MapPanel {
  readonly history = new RobotHistory();
  readonly zoom: MapZoom;
  readonly card: RobotCard;

  /** `robots`: every robot the console knows (with the ones without a pose); `openMission` opens a mission's
   * detail. */
  constructor(private map: MapView, private store: MissionStore, private robots: ReadonlyMap<string, Robot>,
    siteMap: SiteMap, openMission?: (id: number) => void) {
    const svg = $<SVGSVGElement>("#map");
    svg.setAttribute("role", "group"); // (not "img": its robots are buttons)
    this.zoom = new MapZoom(svg, map.home, () => map.relabel());
    $("#map-zoom-in").addEventListener("click", () => this.zoom.zoomIn());
    $("#map-zoom-out").addEventListener("click", () => this.zoom.zoomOut());
    $("#map-fit").addEventListener("click", () => this.zoom.fit());
    new ResizeObserver(() => map.relabel()).observe(svg); // (also when the view is shown again)
    this.card = new RobotCard($("#map-stage"), {
      map, store, history: this.history, openMission,
      robot: (id) => this.robots.get(id) ?? map.robot(id),
    }, (id, focused) => {
      map.setSelected(null);
      if (focused) svg.querySelector<SVGGElement>(`g.robot[data-robot-id="${CSS.escape(id)}"]`)?.focus({ preventScroll: true });
    });
    map.onSelect((id) => {
      // the card on the side away from the robot, so that it stays in sight
      const robot = svg.querySelector(`g.robot[data-robot-id="${CSS.escape(id)}"]`)?.getBoundingClientRect();
      const stage = $("#map-stage").getBoundingClientRect();
      if (robot) this.card.element.classList.toggle("left", robot.x + robot.width / 2 > stage.x + stage.width / 2);
      this.card.open(id);
      map.setSelected(id);
    });
    svg.addEventListener("keydown", (e) => {
      const robot = (e.target as Element).closest<SVGGElement>("g.robot");
      if (robot && (e.key === "Enter" || e.key === " ")) {
        e.preventDefault();
        robot.dispatchEvent(new MouseEvent("click", { bubbles: true }));
      }
    });
    map.onRobot((r) => this.onRobot(r, svg));
    map.onTraffic(() => { if (this.card.openId !== null) this.card.render(); });
    store.onChange((id) => {
      for (const robotId of this.robots.keys()) map.setAwaiting(robotId, this.awaiting(robotId));
      this.card.missionChanged(id);
    });
    this.legend(siteMap);
    new FleetStop();
  }

  private onRobot(robot: Robot, svg: SVGSVGElement): void {
    this.history.add(robot);
    const marker = robot.pose ? svg.querySelector(`g.robot[data-robot-id="${CSS.escape(robot.id)}"]`) : null;
    if (marker && !marker.hasAttribute("tabindex")) { // reachable by keyboard: Enter opens the card
      marker.setAttribute("tabindex", "0");
      marker.setAttribute("role", "button");
      marker.setAttribute("aria-label", t("map.card_label", { id: robot.id }));
    }
    this.map.setAwaiting(robot.id, this.awaiting(robot.id));
    if (this.card.openId !== robot.id) return;
    if (!robot.pose) this.card.close(); // off the map: it stopped reporting, or was retired
    else this.card.robotChanged();
  }

  /** Whether the robot's mission waits for someone to confirm a step. */
  private awaiting(robotId: string): boolean {
    const id = (this.robots.get(robotId) ?? this.map.robot(robotId))?.current_mission_id;
    const mission = id == null ? undefined : this.store.get(id);
    return !!mission && !TERMINAL.has(mission.status) && awaitingStep(mission) !== undefined;
  }

  /** The legend's entries of this panel, next to the modes': the awaiting ring, the routes, the zones' kinds. */
  private legend(siteMap: SiteMap): void {
    const item = (label: string, cls: string) => {
      const node = text("span", label, `legend-item ${cls}`);
      node.dataset.testid = "map-legend-item";
      return node;
    };
    const kinds = [...new Set(siteZones(siteMap).map((z) => z.kind))];
    $("#map-legend").replaceChildren(item(t("map.legend_awaiting"), "legend-awaiting"),
      item(t("map.legend_route"), "legend-route"),
      ...kinds.map((kind) => item(term("map.zone_kind", kind), `legend-zone zone-key-${kind}`)));
  }
}
