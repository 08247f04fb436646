// A mission's energy and CO₂ in its detail (issue 18, item 8): the energy its robot's battery gave, per km, the CO₂
// of charging it back at the site's grid emission factor and the CO₂ avoided against the site's reference vehicle.
// The API computes them (fleet_manager/pilots/service.py mission_carbon: the pilot KPIs' formulas, docs/kpis.md);
// this only shows them.
import { text } from "./dom";
import { t } from "./i18n";
import type { Mission } from "./types";

function number(value: number, digits: number): string {
  return value.toLocaleString(document.documentElement.lang || undefined,
    { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Wh below a kWh, kWh from there. */
export function energyText(wh: number): string {
  return Math.abs(wh) < 1000 ? t("operations.energy_wh", { value: number(wh, 1) })
    : t("operations.energy_kwh", { value: number(wh / 1000, 2) });
}

/** The mission's energy and CO₂ as a list of terms (empty before its robot started it). */
export function missionEnergy(m: Mission): HTMLElement {
  const dl = document.createElement("dl");
  dl.className = "mission-energy";
  dl.dataset.testid = "mission-energy";
  const item = (label: string, value: string, testid: string, title = "") => {
    const dd = text("dd", value);
    dd.dataset.testid = testid;
    if (title) dd.title = title;
    dl.append(text("dt", label), dd);
  };
  if (m.energy_wh == null) {
    if (m.started_at) item(t("operations.summary_energy"), t("operations.energy_not_measured"), "mission-energy-wh");
    return dl;
  }
  item(t("operations.summary_energy"), energyText(m.energy_wh), "mission-energy-wh");
  item(t("operations.summary_energy_per_km"), m.energy_wh_per_km == null ? t("operations.energy_no_distance")
    : t("operations.energy_wh_per_km", { value: number(m.energy_wh_per_km, 1) }), "mission-energy-per-km");
  if (m.co2_g != null) {
    item(t("operations.summary_co2"), t("operations.co2_g", { value: number(m.co2_g, 1) }), "mission-co2",
      t("operations.co2_basis"));
  }
  if (m.co2_avoided_g != null) {
    item(t("operations.summary_co2_avoided"), t("operations.co2_avoided_g", { value: number(m.co2_avoided_g, 1) }),
      "mission-co2-avoided", t("operations.co2_avoided_basis"));
  }
  return dl;
}
