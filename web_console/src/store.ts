// The missions the console knows, kept current from the API and the websocket frames.
import type { Mission, MissionStepFrame, Step } from "./types";

export const TERMINAL = new Set(["completed", "failed", "canceled"]);
export const LIST_LIMIT = 200;

type Listener = (missionId: number | null) => void;

/** The step record after a mission_step frame, as the fleet manager stores it. */
export function stepAfter(step: Step, frame: MissionStepFrame): Step {
  if (!frame.status) return step; // a note on the step, not a change
  const next: Step = { ...step, status: frame.status };
  if (frame.status === "active") next.started_at = frame.time;
  else if (frame.status !== "awaiting_confirmation") next.ended_at = frame.time;
  if (frame.message) next.message = frame.message;
  return next;
}

export function awaitingStep(mission: Mission): Step | undefined {
  return mission.steps.find((s) => s.status === "awaiting_confirmation");
}

export class MissionStore {
  private missions = new Map<number, Mission>();
  private listeners = new Set<Listener>();

  onChange(listener: Listener): void {
    this.listeners.add(listener);
  }

  private changed(id: number | null): void {
    for (const listener of this.listeners) listener(id);
  }

  replaceAll(list: Mission[]): void {
    this.missions = new Map(list.map((m) => [m.id, m]));
    this.changed(null);
  }

  upsert(mission: Mission): void {
    const { events: _events, ...rest } = mission; // the event list belongs to the detail view
    this.missions.set(mission.id, rest);
    this.changed(mission.id);
  }

  applyStep(frame: MissionStepFrame): void {
    const mission = this.missions.get(frame.mission_id);
    if (!mission || !frame.status) return;
    const steps = mission.steps.map((s) => (s.index === frame.step_index ? stepAfter(s, frame) : s));
    this.missions.set(mission.id, { ...mission, steps });
    this.changed(mission.id);
  }

  get(id: number): Mission | undefined {
    return this.missions.get(id);
  }

  /** Newest first, as many as the queue shows. */
  newest(limit = LIST_LIMIT): Mission[] {
    return [...this.missions.values()].sort((a, b) => b.id - a.id).slice(0, limit);
  }
}
