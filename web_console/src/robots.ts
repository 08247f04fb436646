// The robot list with its commands (pause, resume, e-stop, release).
import { post } from "./api";
import { $, button, cell, coalesce, text } from "./dom";
import { MODE_COLORS } from "./map";
import { reportError } from "./messages";
import { gate } from "./session";
import type { Robot } from "./types";

async function command(robotId: string, cmd: string): Promise<void> {
  try {
    await post(`/robots/${encodeURIComponent(robotId)}/commands`, { command: cmd });
  } catch (err) {
    reportError(`${cmd} ${robotId}`, err);
  }
}

export class RobotsView {
  readonly robots = new Map<string, Robot>();
  readonly render = coalesce(() => this.draw()); // the table is redrawn at most once per frame

  update(robot: Robot): void {
    this.robots.set(robot.id, robot);
    this.render();
  }

  private row(r: Robot): HTMLTableRowElement {
    const tr = document.createElement("tr");
    tr.dataset.testid = "robot-row";
    tr.dataset.robotId = r.id;
    const mode = text("span", r.mode, "badge");
    mode.style.background = MODE_COLORS[r.mode] ?? "#607d8b";
    const actions = cell(
      button("Pause", () => command(r.id, "pause")),
      button("Resume", () => command(r.id, "resume")),
      button("E-stop", () => command(r.id, "estop"), "danger"),
      button("Release", () => command(r.id, "release")),
    );
    actions.className = "actions";
    for (const b of actions.querySelectorAll("button")) gate(b, "operator");
    tr.append(cell(text("div", r.id, "mono"), text("div", r.kind === r.model ? r.kind : `${r.kind} · ${r.model}`, "sub")), cell(mode),
      cell(`${r.battery.percentage.toFixed(0)}%`), cell(r.current_mission_id ? `#${r.current_mission_id}` : "–"),
      actions);
    return tr;
  }

  private draw(): void {
    $("#robots tbody").replaceChildren(...[...this.robots.values()].sort((a, b) => a.id.localeCompare(b.id))
      .map((r) => this.row(r)));
  }
}
