"""KPIs as officials read them (issue 18, item 7): a name, a unit and a definition per KPI (from docs/kpis.md,
in the message catalogues `kpis.<name>`, `kpis.<name>.def`), ratios as percentages, and rates per distance
only over enough distance: under MIN_RATE_KM a per-km or per-100-km figure says "too little distance"."""

from __future__ import annotations

from dataclasses import asdict

from fleet_manager.core import kpis
from fleet_manager.i18n import t
from fleet_manager.pilots.schemas import PilotKpis

MIN_RATE_KM = 1.0  # km driven before a per-km rate means something (0.107 km gave 932.8 SEV2 per 100 km)

# the unit kind of each KPI (of `report.kpi_values`: per-severity ones as incidents.SEV0, ...)
PERCENT = ("success_rate", "autonomy_by_time", "autonomy_by_distance", "availability")
RATES = ("incidents_per_100km", "protective_stops_per_km", "near_misses_per_km", "energy_wh_per_km",
         "co2_g_per_km")
UNITS = {"mean_duration_s": "s", "p95_duration_s": "s", "distance_km": "km", "operating_h": "h",
         "intervention_h": "h", "mdbi_km": "km", "mtbi_h": "h", "energy_wh_per_km": "Wh/km", "energy_kwh": "kWh",
         "co2_kg": "kg CO₂e", "co2_g_per_km": "g CO₂e/km", "reference_co2_kg": "kg CO₂", "co2_avoided_kg": "kg CO₂"}


def base_name(kpi: str) -> str:
    return kpi.split(".", 1)[0]


def kpi_name(lang: str, kpi: str) -> str:
    """`incidents_per_100km.SEV2` → "SEV2 incidents per 100 km" (in `lang`)."""
    base, _, severity = kpi.partition(".")
    name = t(lang, f"kpis.{base}")
    return t(lang, "kpis.with_severity", name=name, severity=severity) if severity else name


def kpi_definition(lang: str, kpi: str) -> str:
    return t(lang, f"kpis.{base_name(kpi)}.def")


def is_rate(kpi: str) -> bool:
    return base_name(kpi) in RATES


def number(lang: str, value: float | int) -> str:
    """A number for people: integers as they are, others to 3 significant digits (no exponent under 1e6)."""
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    text = f"{value:,.3g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return text if "e" not in text else f"{value:,.2f}"


def kpi_value(lang: str, kpi: str, value: float | int | None, distance_km: float | None = None) -> str:
    """The value with its unit, a ratio as a percentage; "n.a." for None; a rate over too little distance (when
    the distance it was measured over is given) says so instead of a number."""
    if value is None:
        return t(lang, "kpis.not_available")
    if is_rate(kpi) and distance_km is not None and distance_km < MIN_RATE_KM:
        return t(lang, "kpis.too_little_distance", km=number(lang, distance_km), min=number(lang, MIN_RATE_KM))
    base = base_name(kpi)
    if base in PERCENT:
        return f"{100 * value:.1f} %"
    unit = UNITS.get(base) or ("/100 km" if base == "incidents_per_100km" else "/km" if is_rate(kpi) else "")
    return f"{number(lang, value)} {unit}".rstrip()

def kpi_values(answer: PilotKpis) -> dict[str, float | int | None]:
    """Every KPI of the answer by name; per-severity ones as `incidents.SEV0`, `incidents_per_100km.SEV0`, ..."""
    flat: dict[str, float | int | None] = {}
    for name, value in asdict(answer.kpis).items():
        if name in ("incidents", "incidents_per_100km"):
            for severity in kpis.SEVERITIES:
                flat[f"{name}.{severity}"] = None if value is None else value[severity]
        else:
            flat[name] = value
    return flat
