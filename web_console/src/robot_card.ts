// A robot's card over the live map (issue 18), opened by a click on the robot: what it is (adapter, mode), its
// battery with what the page has seen of it, its speed, its mission (the current step, the destination, an estimate
// of the time to the end of the drive under way, the last events) and its commands, the E-stop large and red.
// Closed with its × or Escape.
import { api } from "./api";
import { missionButtons } from "./actions";
import { describeStep, eventText, statusReason } from "./detail";
import { badge, button, clock, coalesce, parseTime, text } from "./dom";
import { t, term } from "./i18n";
import { MODE_COLORS, robotColour, type MapView } from "./map";
import { currentStep, destination } from "./queue";
import { reportError } from "./messages";
import { RobotHistory, sparkline } from "./robot_history";
import { adapterLabel, command } from "./robots";
import { ROBOT_TEXT } from "./robot_text";
import { gate } from "./session";
import { awaitingStep, type MissionStore } from "./store";
import type { Mission, MissionEvent, Robot } from "./types";

const EVENTS_SHOWN = 4;
const REFETCH_MS = 1500; // the mission's events, at most this often while it changes
const DRIVES = new Set(["go_to", "dock"]);

export interface CardContext {
  map: MapView;
  store: MissionStore;
  history: RobotHistory;
  robot: (id: string) => Robot | undefined;
  openMission?: (id: number) => void;
}

function seconds(value: number): string {
  return value < 90 ? t("map.seconds_short", { value: Math.round(value) })
    : t("map.minutes_short", { value: Math.round(value / 60) });
}

export class RobotCard {
  readonly element: HTMLElement;
  private robotId: string | null = null;
  private readonly title: HTMLElement;
  private readonly swatch: HTMLElement;
  private readonly facts: HTMLElement;
  private readonly missionActions: HTMLElement;
  private readonly eventBox: HTMLElement;
  private readonly commands: HTMLElement;
  private actionsKey = "";
  private mission: Mission | null = null; // the robot's mission as fetched (with its events)
  private events: MissionEvent[] = [];
  private lastFetch = 0;
  private fetchedFor: number | null = null; // the mission whose events are fetched (or being fetched)
  private fetchTimer: number | null = null;
  readonly render = coalesce(() => this.draw());

  /** `onClose(robotId, focused)`: the card closed; `focused`: the focus was in it (and is to be given back). */
  constructor(host: HTMLElement, private ctx: CardContext, private onClose: (robotId: string, focused: boolean) => void) {
    this.element = text("section", "", "robot-card");
    this.element.dataset.testid = "robot-card";
    this.element.hidden = true;
    this.element.setAttribute("role", "dialog");
    const head = text("div", "", "card-head");
    this.swatch = text("span", "", "swatch");
    this.title = text("h3", "", "mono");
    this.title.dataset.testid = "robot-card-id";
    const close = text("button", "×", "close") as HTMLButtonElement;
    close.type = "button";
    close.dataset.testid = "robot-card-close";
    close.title = t("ops.close");
    close.setAttribute("aria-label", t("ops.close"));
    close.addEventListener("click", () => this.close());
    head.append(this.swatch, this.title, close);
    this.facts = text("div", "", "summary card-facts");
    this.missionActions = text("div", "", "actions card-mission-actions");
    this.eventBox = text("div", "", "card-events");
    this.eventBox.dataset.testid = "robot-card-events";
    this.commands = text("div", "", "card-commands");
    this.element.append(head, this.facts, this.missionActions, this.eventBox, this.commands);
    host.append(this.element);
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.robotId !== null) this.close();
    });
  }

  get openId(): string | null {
    return this.robotId;
  }

  open(robotId: string): void {
    const changed = robotId !== this.robotId;
    this.robotId = robotId;
    this.element.hidden = false;
    this.element.dataset.robotId = robotId;
    this.element.setAttribute("aria-label", t("map.card_label", { id: robotId }));
    if (changed) {
      this.mission = null;
      this.events = [];
      this.actionsKey = "";
      this.commands.replaceChildren(...this.commandButtons(robotId));
      this.refetch(true);
    }
    this.draw();
    this.element.querySelector<HTMLButtonElement>(".close")?.focus({ preventScroll: true });
  }

  close(): void {
    const id = this.robotId;
    if (id === null) return;
    const focused = this.element.contains(document.activeElement);
    this.robotId = null;
    this.element.hidden = true;
    delete this.element.dataset.robotId;
    this.onClose(id, focused);
  }

  /** A mission changed (null: the whole list): its events are fetched again when it is the robot's. */
  missionChanged(missionId: number | null): void {
    if (this.robotId === null) return;
    const id = this.missionId();
    if (id !== null && (missionId === null || missionId === id)) this.refetch();
    this.render();
  }

  /** The robot's frame: drawn again, and its mission's events fetched when it has another mission. */
  robotChanged(): void {
    if (this.robotId === null) return;
    const id = this.missionId();
    if (id !== this.fetchedFor) this.refetch(true);
    this.render();
  }

  private missionId(): number | null {
    return this.robotId === null ? null : this.ctx.robot(this.robotId)?.current_mission_id ?? null;
  }

  /** GET /missions/{id} for the events (not more often than REFETCH_MS). */
  private refetch(now = false): void {
    const id = this.missionId();
    this.fetchedFor = id;
    if (id === null) {
      this.mission = null;
      this.events = [];
      return;
    }
    const wait = now ? 0 : Math.max(0, this.lastFetch + REFETCH_MS - performance.now());
    if (this.fetchTimer !== null) {
      if (!now) return;
      window.clearTimeout(this.fetchTimer);
    }
    this.fetchTimer = window.setTimeout(() => {
      this.fetchTimer = null;
      this.lastFetch = performance.now();
      void api<Mission>(`/missions/${id}`).then((m) => {
        if (this.missionId() !== id) return; // another robot, or another mission, meanwhile
        this.mission = m;
        this.events = [...(m.events ?? [])].sort((a, b) => parseTime(a.time).getTime() - parseTime(b.time).getTime());
        this.render();
      }).catch((err) => reportError(t("operations.loading_mission", { id }), err));
    }, wait);
  }

  private commandButtons(robotId: string): HTMLButtonElement[] {
    const robot = this.ctx.robot(robotId);
    const make = (cmd: string, label: string, cls: string) => {
      const b = button(label, () => command(robotId, cmd, label), cls);
      b.dataset.command = cmd;
      if (robot?.registration === "unregistered") {
        b.disabled = true;
        b.title = ROBOT_TEXT.notCommanded;
      } else {
        gate(b, "operator");
      }
      return b;
    };
    const estop = make("estop", ROBOT_TEXT.estop, "estop-big");
    estop.dataset.testid = "robot-card-estop";
    estop.title ||= t("map.estop_title", { id: robotId });
    return [estop, make("pause", ROBOT_TEXT.pause, ""), make("resume", ROBOT_TEXT.resume, ""),
      make("release", ROBOT_TEXT.release, "")];
  }

  /** The time to the end of the drive under way: the length of the route still ahead over the speed the robot
   * kept lately (the page's clock, stops included). Null when there is no drive, no route to it or no speed. */
  private eta(robot: Robot, mission: Mission): HTMLElement | null {
    const step = currentStep(mission);
    const route = this.ctx.map.route(robot.id);
    if (!step || !DRIVES.has(step.kind) || !route || !robot.pose || route.points.length < 2) return null;
    if (route.places[route.places.length - 1] !== step.target) return null; // a route to somewhere else
    const pts = route.points;
    const next = Math.min(route.passed, pts.length - 1);
    let left = Math.hypot(pts[next][0] - robot.pose.x, pts[next][1] - robot.pose.y);
    for (let i = next; i < pts.length - 1; i++) left += Math.hypot(pts[i + 1][0] - pts[i][0], pts[i + 1][1] - pts[i][1]);
    const kept = this.ctx.history.meanSpeed(robot.id);
    const distance = left.toFixed(1);
    let value: string;
    if (!kept) value = t("map.eta_measuring", { distance });
    else if (kept.speed < 0.05) value = t("map.eta_stopped", { distance });
    else value = t("map.eta_value", { time: seconds(left / kept.speed), place: step.target ?? "", distance });
    const node = text("span", value);
    node.dataset.testid = "robot-card-eta";
    node.title = t("map.eta_basis", { speed: kept ? kept.speed.toFixed(2) : "–", window: kept ? Math.round(kept.seconds) : 0 });
    return node;
  }

  private draw(): void {
    const id = this.robotId;
    if (id === null) return;
    const robot = this.ctx.robot(id);
    this.title.textContent = id;
    const colour = robotColour(id);
    this.swatch.style.setProperty("--c", colour);
    this.element.style.setProperty("--c", colour);
    if (!robot) {
      this.facts.replaceChildren(text("p", t("map.card_gone"), "hint"));
      return;
    }
    const missionId = robot.current_mission_id;
    const live = missionId === null ? undefined : this.ctx.store.get(missionId);
    const mission = live ?? (this.mission?.id === missionId ? this.mission : null);
    const dl = document.createElement("dl");
    const item = (label: string, testid: string, ...value: (Node | string)[]) => {
      const dd = document.createElement("dd");
      dd.dataset.testid = testid;
      dd.append(...value);
      dl.append(text("dt", label), dd);
    };
    const what = robot.kind === robot.model ? robot.kind : `${robot.kind} · ${robot.model}`;
    item(t("map.card_adapter"), "robot-card-adapter", adapterLabel(robot.adapter), " ", what);
    const mode = text("span", term("mode", robot.mode), "badge");
    mode.style.background = MODE_COLORS[robot.mode] ?? "#607d8b";
    const modeParts: (Node | string)[] = [mode];
    if (robot.localisation === "lost") modeParts.push(" ", text("span", ROBOT_TEXT.localisationLost, "localisation-lost"));
    item(t("map.card_mode"), "robot-card-mode", ...modeParts);
    const samples = this.ctx.history.batteryOf(id);
    if (robot.battery) {
      const pct = robot.battery.percentage.toFixed(0);
      const values = samples.map((s) => s.v);
      const title = values.length ? t("map.battery_history", { min: Math.min(...values).toFixed(0),
        max: Math.max(...values).toFixed(0), count: values.length }) : t("map.battery_no_history");
      item(t("map.card_battery"), "robot-card-battery", text("span", `${pct}%`, "battery-value"),
        robot.battery.charging ? text("span", t("map.charging"), "sub") : "", sparkline(samples, performance.now(), title));
    } else {
      item(t("map.card_battery"), "robot-card-battery", ROBOT_TEXT.noValue);
    }
    item(t("map.card_speed"), "robot-card-speed", robot.velocity ? t("map.speed_value", {
      linear: robot.velocity.linear.toFixed(2), angular: robot.velocity.angular.toFixed(2) }) : ROBOT_TEXT.noValue);
    if (robot.errors.length) item(t("map.card_errors"), "robot-card-errors", text("span", robot.errors.join("; "), "failure"));
    if (missionId === null) {
      item(t("map.card_mission"), "robot-card-mission", t("map.no_mission"));
    } else {
      const head: (Node | string)[] = [text("span", `#${missionId}`, "mono")];
      if (mission) head.push(" ", mission.template ?? t("operations.inline_spec"), " ", badge(mission.status));
      item(t("map.card_mission"), "robot-card-mission", ...head);
    }
    if (mission) this.missionFacts(robot, mission, item);
    item(t("map.card_last_seen"), "robot-card-last-seen", clock(robot.last_seen));
    this.facts.replaceChildren(dl);
    this.drawMissionActions(mission ?? null);
    this.drawEvents(missionId);
  }

  private missionFacts(robot: Robot, mission: Mission,
    item: (label: string, testid: string, ...value: (Node | string)[]) => void): void {
    const step = currentStep(mission);
    const waiting = awaitingStep(mission);
    if (step) {
      const parts: (Node | string)[] = [`${step.index + 1}/${mission.steps.length} ${term("operations.step_kind", step.kind)} `,
        text("span", describeStep(step), "wrap")];
      if (waiting) {
        parts.push(text("div", t("map.legend_awaiting"), "attention"));
      }
      item(t("map.card_step"), "robot-card-step", ...parts);
    }
    item(t("map.card_destination"), "robot-card-destination", text("span", destination(mission), "mono"));
    const eta = this.eta(robot, mission);
    if (eta) item(t("map.card_eta"), "robot-card-eta-row", eta);
    if (mission.status_reason && mission.status !== "underway") {
      item(t("map.card_held"), "robot-card-held", text("span", statusReason(mission), "attention wrap"));
    }
  }

  /** "Mission detail" and, while a step waits, Confirm: drawn again only when they change (a button is not
   * replaced under the pointer). */
  private drawMissionActions(mission: Mission | null): void {
    const waiting = mission ? awaitingStep(mission) : undefined;
    const key = mission ? `${mission.id}|${mission.status}|${waiting?.index ?? ""}` : "";
    if (key === this.actionsKey) return;
    this.actionsKey = key;
    const buttons: HTMLButtonElement[] = [];
    if (mission && this.ctx.openMission) {
      const open = this.ctx.openMission;
      const b = button(t("map.open_mission"), () => open(mission.id));
      b.dataset.testid = "robot-card-open-mission";
      buttons.push(b);
    }
    if (mission && waiting) {
      buttons.push(...missionButtons(this.ctx.store, mission).filter((b) => b.dataset.action === "confirm"));
    }
    this.missionActions.replaceChildren(...buttons);
  }

  private drawEvents(missionId: number | null): void {
    if (missionId === null) {
      this.eventBox.replaceChildren();
      return;
    }
    const shown = [...this.events].slice(-EVENTS_SHOWN).reverse();
    const list = document.createElement("ol");
    list.append(...shown.map((e) => {
      const li = document.createElement("li");
      li.dataset.testid = "robot-card-event";
      li.dataset.kind = e.kind;
      li.title = term("operations.event_kind", e.kind);
      li.append(text("span", clock(e.time), "mono sub"), " ", ...(e.kind === "status" && e.status ? [badge(e.status), " "] : []),
        text("span", eventText(e.code, e.params, e.message), "wrap"));
      return li;
    }));
    this.eventBox.replaceChildren(text("h4", t("map.card_events")),
      shown.length ? list : text("p", this.mission ? t("map.card_no_events") : t("operations.loading"), "hint"));
  }
}
