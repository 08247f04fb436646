"""site.yaml (optional): what a site is beyond its map and fleet — its time zone and the emission factors its
energy and CO₂ figures use (docs/site_files.md, docs/kpis.md).

    timezone: Asia/Seoul
    carbon:
      grid_kg_co2e_per_kwh: 0.4173      # the grid's emission factor
      grid_source: "..."                # who published it
      grid_year: 2023                   # the year it is for
      reference_vehicle: "new van"      # optional: what the robots stand in for, and its emissions
      reference_g_co2_per_km: 183.8
      reference_source: "..."
    map_image: {image: map.png, resolution: 0.05, origin: [0.0, 0.0, 0.0]}   # an imported site's grid (map_image.py)

Bad input is refused with the file, the field and the reason."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from fleet_manager.sites.map_image import MapImage, MapImageError, parse_map_image

PROFILE_FILE = "site.yaml"
_TOP = {"timezone", "carbon", "map_image"}
_CARBON = {"grid_kg_co2e_per_kwh", "grid_source", "grid_year", "reference_vehicle", "reference_g_co2_per_km",
           "reference_source"}


class SiteProfileError(ValueError):
    """site.yaml cannot be used: the message names the file and the field."""


@dataclass(frozen=True)
class Carbon:
    grid_kg_per_kwh: float  # kg CO₂e per kWh taken from the grid
    grid_source: str
    grid_year: int
    reference_vehicle: str | None = None
    reference_g_per_km: float | None = None  # g CO₂ per km of the vehicle the robots stand in for
    reference_source: str | None = None


@dataclass(frozen=True)
class SiteProfile:
    timezone: str = "UTC"
    carbon: Carbon | None = None
    map_image: MapImage | None = None  # the occupancy grid an imported site was made from, for the console


def _number(where: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SiteProfileError(f"{where}: a number is needed, got {value!r}")
    if not low <= value <= high:
        raise SiteProfileError(f"{where}: {value} is out of range ({low:g} to {high:g})")
    return float(value)


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SiteProfileError(f"{where}: a non-empty text is needed, got {value!r}")
    return value.strip()


def _unknown(where: str, data: dict[str, Any], known: set[str]) -> None:
    extra = sorted(set(data) - known)
    if extra:
        raise SiteProfileError(f"{where}: unknown field {extra[0]!r} (known: {', '.join(sorted(known))})")


def _carbon(path: Path, data: Any) -> Carbon:
    where = f"{path}: carbon"
    if not isinstance(data, dict):
        raise SiteProfileError(f"{where}: a mapping is needed, got {data!r}")
    _unknown(where, data, _CARBON)
    for required in ("grid_kg_co2e_per_kwh", "grid_source", "grid_year"):
        if required not in data:
            raise SiteProfileError(f"{where}.{required}: missing (a factor is given with its source and year)")
    year = data["grid_year"]
    if isinstance(year, bool) or not isinstance(year, int) or not 1990 <= year <= 2100:
        raise SiteProfileError(f"{where}.grid_year: a year from 1990 to 2100 is needed, got {year!r}")
    reference = data.get("reference_g_co2_per_km")
    if reference is not None and "reference_source" not in data:
        raise SiteProfileError(f"{where}.reference_source: missing (the reference vehicle's figure needs a source)")
    return Carbon(
        grid_kg_per_kwh=_number(f"{where}.grid_kg_co2e_per_kwh", data["grid_kg_co2e_per_kwh"], 0.0, 2.0),
        grid_source=_text(f"{where}.grid_source", data["grid_source"]),
        grid_year=year,
        reference_vehicle=_text(f"{where}.reference_vehicle", data["reference_vehicle"])
        if "reference_vehicle" in data else None,
        reference_g_per_km=None if reference is None
        else _number(f"{where}.reference_g_co2_per_km", reference, 0.0, 5000.0),
        reference_source=_text(f"{where}.reference_source", data["reference_source"])
        if "reference_source" in data else None,
    )


def parse_site_profile(path: Path, data: Any) -> SiteProfile:
    if data is None:
        return SiteProfile()
    if not isinstance(data, dict):
        raise SiteProfileError(f"{path}: a mapping is needed at the top, got {type(data).__name__}")
    _unknown(str(path), data, _TOP)
    timezone = data.get("timezone", "UTC")
    if not isinstance(timezone, str):
        raise SiteProfileError(f"{path}: timezone: an IANA time zone name is needed, got {timezone!r}")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SiteProfileError(f"{path}: timezone: unknown time zone {timezone!r} (e.g. Asia/Seoul)") from None
    try:
        grid = parse_map_image(path, data["map_image"]) if data.get("map_image") is not None else None
    except MapImageError as exc:
        raise SiteProfileError(str(exc)) from None
    return SiteProfile(timezone, _carbon(path, data["carbon"]) if data.get("carbon") is not None else None, grid)


def load_site_profile(directory: Path) -> SiteProfile:
    """The site's profile from its site.yaml; the defaults (UTC, no emission factors) without one."""
    path = directory / PROFILE_FILE
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return SiteProfile()
    return _cached(str(path), mtime)


@functools.lru_cache(maxsize=32)
def _cached(path: str, _mtime_ns: int) -> SiteProfile:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SiteProfileError(f"{path}: cannot be read: {str(exc).splitlines()[0]}") from None
    return parse_site_profile(Path(path), data)
