// The missions the console knows, kept current from the API and the websocket frames.
import { lang } from "./i18n";
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
  if (frame.message) {
    next.message = frame.message;
    const detail = frame.params?.detail; // the step's message as a coded text (service.update_step)
    const coded = detail && typeof detail === "object" ? detail as { code?: string; params?: Record<string, unknown> }
      : null;
    next.message_code = coded?.code ?? null;
    next.message_params = coded?.params ?? null;
  }
  return next;
}

/** A confirm step's prompt in the console's language when the template gives one, else as written. */
export function promptText(s: Step): string {
  return s.prompt_labels?.[lang()] ?? s.prompt ?? "";
}

export function awaitingStep(mission: Mission): Step | undefined {
  return mission.steps.find((s) => s.status === "awaiting_confirmation");
}

export class MissionStore {
  private missions = new Map<number, Mission>();
  private listeners = new Set<Listener>();
  private seq = 0;
  private liveAt = new Map<number, number>(); // the last live frame about each mission, in frame order

  onChange(listener: Listener): void {
    this.listeners.add(listener);
  }

  private changed(id: number | null): void {
    for (const listener of this.listeners) listener(id);
  }

  /** Taken before an API request; its answer is passed in with it (see `fetched`). */
  mark(): number {
    return this.seq;
  }

  private isFresh(id: number, mark: number): boolean {
    return (this.liveAt.get(id) ?? -1) <= mark || !this.missions.has(id);
  }

  /** The missions as a list request answered: a mission a live frame spoke of since `mark` keeps its live state. */
  replaceAll(list: Mission[], mark: number): void {
    const next = new Map(list.map((m) => [m.id, m]));
    for (const [id, mission] of this.missions) if (!this.isFresh(id, mark)) next.set(id, mission);
    this.missions = next;
    this.changed(null);
  }

  /** A mission from a live frame: the newest word on it. */
  upsert(mission: Mission): void {
    this.liveAt.set(mission.id, ++this.seq);
    this.put(mission);
  }

  /** A mission as an API request answered; ignored when a live frame about it came after the request was
   * sent (the answer may predate it: a dispatch answered 'queued' once the mission was already underway). */
  fetched(mission: Mission, mark: number): void {
    if (this.isFresh(mission.id, mark)) this.put(mission);
  }

  private put(mission: Mission): void {
    const { events: _events, ...rest } = mission; // the event list belongs to the detail view
    this.missions.set(mission.id, rest);
    this.changed(mission.id);
  }

  applyStep(frame: MissionStepFrame): void {
    const mission = this.missions.get(frame.mission_id);
    if (!mission || !frame.status) return;
    this.liveAt.set(mission.id, ++this.seq);
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
