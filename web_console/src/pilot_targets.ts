// A pilot's KPI targets, edited on its dashboard (issue 18, item 7): each target with its value, removable; a KPI
// and a value to add; Save sends them all (PATCH /pilots/{id}, researcher or higher) and the dashboard is redrawn
// with the new verdicts. KPIs show by their names in the console's language (from /charts' kpi_terms).
import { patch } from "./api";
import { option, text } from "./dom";
import { t } from "./i18n";
import { reportError, showMessage } from "./messages";
import { gate } from "./session";
import type { Pilot, PilotCharts } from "./types";

function numberInput(value: number | null, label: string): HTMLInputElement {
  const input = document.createElement("input");
  input.type = "number";
  input.step = "any";
  input.required = true;
  input.ariaLabel = label;
  if (value !== null) input.value = String(value);
  return input;
}

/** The targets panel's body: a form; `saved` redraws the dashboard after a save. */
export function targetsForm(pilot: Pilot, kpis: string[], terms: PilotCharts["kpi_terms"],
  saved: () => Promise<void>): HTMLFormElement {
  const name = (kpi: string) => terms?.[kpi]?.name ?? kpi;
  const form = document.createElement("form");
  form.dataset.testid = "targets-form";
  form.className = "targets-form";
  const rows = text("div", "", "target-rows");
  const row = (kpi: string, value: number | null) => {
    const line = text("div", "", "target-row");
    line.dataset.testid = "target-row";
    line.dataset.kpi = kpi;
    const label = text("span", name(kpi), "target-name");
    label.title = terms?.[kpi]?.definition ?? "";
    const drop = text("button", "×", "small") as HTMLButtonElement;
    drop.type = "button";
    drop.title = t("dashboard.target_remove");
    drop.dataset.testid = "target-remove";
    drop.addEventListener("click", () => line.remove());
    line.append(label, numberInput(value, name(kpi)), drop);
    rows.append(line);
  };
  for (const [kpi, value] of Object.entries(pilot.targets)) row(kpi, value);

  const pick = document.createElement("select");
  pick.dataset.testid = "target-kpi";
  pick.ariaLabel = t("dashboard.target_kpi");
  pick.append(...kpis.map((k) => option(k, name(k))));
  const add = text("button", t("dashboard.target_add"), "small") as HTMLButtonElement;
  add.type = "button";
  add.dataset.testid = "target-add";
  add.addEventListener("click", () => {
    const existing = rows.querySelector<HTMLElement>(`[data-kpi="${CSS.escape(pick.value)}"]`);
    if (existing) existing.querySelector("input")?.focus();
    else row(pick.value, null);
  });
  const save = text("button", t("dashboard.target_save")) as HTMLButtonElement;
  save.type = "submit";
  save.dataset.testid = "target-save";
  const adding = text("div", "", "target-add");
  adding.append(pick, add);
  form.append(rows, adding, save);
  gate(save, "researcher");
  gate(add, "researcher");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const targets: Record<string, number> = {};
    for (const line of rows.querySelectorAll<HTMLElement>("[data-testid=target-row]")) {
      const input = line.querySelector("input") as HTMLInputElement;
      targets[line.dataset.kpi ?? ""] = Number(input.value);
    }
    save.disabled = true;
    patch<Pilot>(`/pilots/${encodeURIComponent(pilot.id)}`, { targets })
      .then(() => {
        showMessage(t("dashboard.targets_saved", { n: Object.keys(targets).length }), "info");
        return saved();
      })
      .catch((err) => reportError(t("dashboard.saving_targets"), err))
      .finally(() => { save.disabled = !gate(save, "researcher"); });
  });
  return form;
}

