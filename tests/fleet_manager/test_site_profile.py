"""site.yaml (fleet_manager/sites/profile.py): a site's time zone and emission factors; bad input refused with the
file, the field and the reason, at start-up (Site.load) as much as when a report reads it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from fleet_manager.core.kpis import EmissionFactors, MissionRun, compute_kpis
from fleet_manager.sites.profile import SiteProfile, SiteProfileError, load_site_profile, parse_site_profile
from fleet_manager.sites.service import Site

SITES = Path(__file__).resolve().parents[2] / "sim_worlds"
GOOD = {"timezone": "Asia/Seoul",
        "carbon": {"grid_kg_co2e_per_kwh": 0.5, "grid_source": "a ministry", "grid_year": 2023,
                   "reference_vehicle": "a van", "reference_g_co2_per_km": 200, "reference_source": "an agency"}}


def test_every_site_has_a_profile_in_seoul_with_its_sources() -> None:
    for site in ("living_lab", "city_block", "clinic", "smart_factory"):
        profile = load_site_profile(SITES / site)
        assert profile.timezone == "Asia/Seoul" and profile.carbon is not None, site
        assert profile.carbon.grid_year >= 2020 and profile.carbon.grid_source and profile.carbon.reference_source


def test_a_site_without_a_profile_is_in_utc_with_no_factors(tmp_path: Path) -> None:
    assert load_site_profile(tmp_path) == SiteProfile("UTC", None)
    assert parse_site_profile(tmp_path / "site.yaml", None) == SiteProfile()


def _with(change: dict) -> dict:
    doc = {"timezone": GOOD["timezone"], "carbon": dict(GOOD["carbon"])}
    for key, value in change.items():
        target, _, field = key.partition(".")
        if field:
            if value is None:
                doc[target].pop(field)
            else:
                doc[target][field] = value
        else:
            doc[key] = value
    return doc


@pytest.mark.parametrize(("change", "needle"), [
    ({"timezone": "Asia/Busan"}, "timezone: unknown time zone 'Asia/Busan'"),
    ({"timezone": 9}, "timezone: an IANA time zone name is needed"),
    ({"colour": "blue"}, "unknown field 'colour'"),
    ({"carbon.grid_kg_co2e_per_kwh": -0.1}, "carbon.grid_kg_co2e_per_kwh: -0.1 is out of range"),
    ({"carbon.grid_kg_co2e_per_kwh": "0.4"}, "carbon.grid_kg_co2e_per_kwh: a number is needed"),
    ({"carbon.grid_source": None}, "carbon.grid_source: missing"),
    ({"carbon.grid_year": "2023"}, "carbon.grid_year: a year from 1990 to 2100 is needed"),
    ({"carbon.reference_source": None}, "carbon.reference_source: missing"),
    ({"carbon.reference_g_co2_per_km": True}, "carbon.reference_g_co2_per_km: a number is needed"),
    ({"carbon.wind": 1}, "carbon: unknown field 'wind'"),
])
def test_bad_profiles_name_the_file_and_the_field(tmp_path: Path, change: dict, needle: str) -> None:
    path = tmp_path / "site.yaml"
    with pytest.raises(SiteProfileError) as err:
        parse_site_profile(path, _with(change))
    assert str(err.value).startswith(str(path)) and needle in str(err.value), err.value


def test_the_lab_refuses_a_bad_profile_at_start_up_and_reads_a_changed_one(tmp_path: Path) -> None:
    target = tmp_path / "living_lab"
    shutil.copytree(SITES / "living_lab", target)
    (target / "site.yaml").write_text(yaml.safe_dump(_with({"carbon.grid_year": 1800})))
    with pytest.raises(ValueError, match=rf"{target / 'site.yaml'}: carbon.grid_year"):
        Site.load(target)
    (target / "site.yaml").write_text("timezone: [\n")
    with pytest.raises(ValueError, match=rf"{target / 'site.yaml'}: cannot be read"):
        Site.load(target)
    (target / "site.yaml").write_text(yaml.safe_dump(GOOD))
    assert Site.load(target).profile.carbon.grid_kg_per_kwh == 0.5  # type: ignore[union-attr]


def test_co2_figures_follow_their_formulas() -> None:
    runs = [MissionRun("1", "r", "completed", 0.0, 100.0, 1500.0, 40.0),
            MissionRun("2", "r", "failed", 0.0, 50.0, 500.0, 10.0)]
    report = compute_kpis(runs, now=100.0, factors=EmissionFactors(0.4, 180.0))
    assert report.energy_kwh == pytest.approx(0.05)
    assert report.co2_kg == pytest.approx(0.05 * 0.4)
    assert report.co2_g_per_km == pytest.approx(0.05 * 0.4 * 1000 / 2.0)
    assert report.reference_co2_kg == pytest.approx(2.0 * 180.0 / 1000)
    assert report.co2_avoided_kg == pytest.approx(2.0 * 0.18 - 0.02)
    bare = compute_kpis(runs, now=100.0)
    assert bare.energy_kwh == pytest.approx(0.05) and bare.co2_kg is None and bare.co2_avoided_kg is None
    no_reference = compute_kpis(runs, now=100.0, factors=EmissionFactors(0.4))
    assert no_reference.co2_kg == pytest.approx(0.02) and no_reference.reference_co2_kg is None
    assert compute_kpis([], now=0.0, factors=EmissionFactors(0.4)).co2_g_per_km is None  # no distance
