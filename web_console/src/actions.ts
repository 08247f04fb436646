// What an operator can do to one mission, offered by status; used by the queue rows and the detail view.
import { post } from "./api";
import { button } from "./dom";
import { reportError } from "./messages";
import { gate } from "./session";
import { awaitingStep, type MissionStore, TERMINAL } from "./store";
import type { Mission } from "./types";

function isMission(value: unknown): value is Mission {
  return typeof value === "object" && value !== null && "id" in value && "status" in value && "steps" in value;
}

async function act(store: MissionStore, mission: Mission, verb: string, body?: unknown): Promise<void> {
  try {
    const mark = store.mark();
    const answer = await post<unknown>(`/missions/${mission.id}/${verb}`, body);
    if (isMission(answer)) store.fetched(answer, mark);
  } catch (err) {
    reportError(`${verb} mission #${mission.id}`, err);
  }
}

export function missionButtons(store: MissionStore, mission: Mission): HTMLButtonElement[] {
  const buttons: HTMLButtonElement[] = [];
  const add = (label: string, verb: string, body?: unknown, cls = "") => {
    const b = button(label, () => act(store, mission, verb, body), cls);
    b.dataset.action = verb;
    buttons.push(b);
    return b;
  };
  const waiting = awaitingStep(mission);
  if (waiting) {
    add("Confirm", "confirm", { step_index: waiting.index }, "confirm").title =
      `step ${waiting.index}${waiting.prompt ? `: ${waiting.prompt}` : ""}`;
  }
  if (mission.status === "underway") add("Pause", "pause");
  if (mission.status === "paused") add("Resume", "resume");
  if (!TERMINAL.has(mission.status)) add("Cancel", "cancel", undefined, "danger");
  for (const b of buttons) gate(b, "operator");
  return buttons;
}
