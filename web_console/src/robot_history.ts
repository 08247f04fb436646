// What the console has seen of each robot since the page opened (its robot_states frames): the battery over time,
// for the card's sparkline, and where it was in the last seconds, for the speed it actually kept (waits included).
import type { Robot } from "./types";

const BATTERY_EVERY_MS = 5_000; // a battery sample at most this often, unless the value changed by a percent
const BATTERY_KEPT = 720; // an hour at one sample per 5 s
const TRACK_MS = 20_000; // the positions kept, for the mean speed

export interface Sample { t: number; v: number }
interface Position { t: number; x: number; y: number }

export class RobotHistory {
  private battery = new Map<string, Sample[]>();
  private track = new Map<string, Position[]>();

  constructor(private now: () => number = () => performance.now()) {}

  add(robot: Robot): void {
    const t = this.now();
    if (robot.battery) {
      const list = this.battery.get(robot.id) ?? [];
      const last = list[list.length - 1];
      const v = robot.battery.percentage;
      if (!last || t - last.t >= BATTERY_EVERY_MS || Math.abs(v - last.v) >= 1) {
        list.push({ t, v });
        if (list.length > BATTERY_KEPT) list.splice(0, list.length - BATTERY_KEPT);
        this.battery.set(robot.id, list);
      }
    }
    if (robot.pose) {
      const list = this.track.get(robot.id) ?? [];
      list.push({ t, x: robot.pose.x, y: robot.pose.y });
      while (list.length > 2 && t - list[0].t > TRACK_MS) list.shift();
      this.track.set(robot.id, list);
    }
  }

  forget(robotId: string): void {
    this.battery.delete(robotId);
    this.track.delete(robotId);
  }

  /** The battery percentages seen, oldest first, with the time of each (ms, the page's clock). */
  batteryOf(robotId: string): Sample[] {
    return this.battery.get(robotId) ?? [];
  }

  /** The mean speed over the last `windowS` seconds (m/s of the page's clock: stops count), and the span it is
   * taken over; null before a few seconds were seen. */
  meanSpeed(robotId: string, windowS = 15): { speed: number; seconds: number } | null {
    const list = this.track.get(robotId) ?? [];
    const end = list[list.length - 1];
    if (!end) return null;
    let length = 0;
    let start = end;
    for (let i = list.length - 1; i > 0 && end.t - list[i - 1].t <= windowS * 1000; i--) {
      length += Math.hypot(list[i].x - list[i - 1].x, list[i].y - list[i - 1].y);
      start = list[i - 1];
    }
    const seconds = (end.t - start.t) / 1000;
    return seconds >= 4 ? { speed: length / seconds, seconds } : null;
  }
}

/** A small line of the battery percentages seen (0 to 100 %, over the time they span). */
export function sparkline(samples: Sample[], now: number, title: string): SVGSVGElement {
  const NS = "http://www.w3.org/2000/svg";
  const W = 120;
  const H = 26;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("data-testid", "battery-sparkline");
  svg.setAttribute("data-points", String(samples.length));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", title);
  const tip = document.createElementNS(NS, "title");
  tip.textContent = title;
  svg.appendChild(tip);
  if (!samples.length) return svg;
  const t0 = samples[0].t;
  const span = Math.max(now - t0, 1);
  const y = (v: number) => (H - 2 - ((H - 4) * Math.min(Math.max(v, 0), 100)) / 100).toFixed(1);
  const pts = samples.map((s) => `${((W * (s.t - t0)) / span).toFixed(1)},${y(s.v)}`);
  pts.push(`${W},${y(samples[samples.length - 1].v)}`); // held until now
  const line = document.createElementNS(NS, "polyline");
  line.setAttribute("points", pts.join(" "));
  const frame = document.createElementNS(NS, "rect"); // 0 to 100 %
  for (const [k, v] of Object.entries({ x: 0.5, y: 1.5, width: W - 1, height: H - 3, class: "frame" })) {
    frame.setAttribute(k, String(v));
  }
  svg.append(frame, line);
  return svg;
}
