// What an operator can do to one mission, offered by status; used by the queue rows and the detail view.
import { post } from "./api";
import { button } from "./dom";
import { t } from "./i18n";
import { reportError } from "./messages";
import { gate } from "./session";
import { awaitingStep, promptText, type MissionStore, TERMINAL } from "./store";
import type { Mission } from "./types";

type Verb = "confirm" | "pause" | "resume" | "cancel";

/** What the operator was doing when a command failed, for the message. */
const DOING: Record<Verb, (id: number) => string> = {
  confirm: (id) => t("operations.confirming_mission", { id }),
  pause: (id) => t("operations.pausing_mission", { id }),
  resume: (id) => t("operations.resuming_mission", { id }),
  cancel: (id) => t("operations.canceling_mission", { id }),
};

function isMission(value: unknown): value is Mission {
  return typeof value === "object" && value !== null && "id" in value && "status" in value && "steps" in value;
}

async function act(store: MissionStore, mission: Mission, verb: Verb, body?: unknown): Promise<void> {
  try {
    const mark = store.mark();
    const answer = await post<unknown>(`/missions/${mission.id}/${verb}`, body);
    if (isMission(answer)) store.fetched(answer, mark);
  } catch (err) {
    reportError(DOING[verb](mission.id), err);
  }
}

export function missionButtons(store: MissionStore, mission: Mission): HTMLButtonElement[] {
  const buttons: HTMLButtonElement[] = [];
  const add = (label: string, verb: Verb, body?: unknown, cls = "") => {
    const b = button(label, () => act(store, mission, verb, body), cls);
    b.dataset.action = verb;
    buttons.push(b);
    return b;
  };
  const waiting = awaitingStep(mission);
  if (waiting) {
    add(t("operations.confirm"), "confirm", { step_index: waiting.index }, "confirm").title = waiting.prompt
      ? t("operations.confirm_step_prompt", { index: waiting.index, prompt: promptText(waiting) })
      : t("operations.confirm_step", { index: waiting.index });
  }
  if (mission.status === "underway") add(t("operations.pause"), "pause");
  if (mission.status === "paused") add(t("operations.resume"), "resume");
  if (!TERMINAL.has(mission.status)) add(t("operations.cancel"), "cancel", undefined, "danger");
  for (const b of buttons) gate(b, "operator");
  return buttons;
}
