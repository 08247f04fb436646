"""Loading a simulation from a site's files (world.sdf, fleet.yaml, the places and lanes of navgraph.yaml, the
pedestrians' behaviour of people.yaml), pure Python:
shared by the ROS node (sim_node.py) and the VDA 5050 test bench without ROS (vda_bench.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from labfleet_sim.fleet_config import FleetConfig, FleetConfigError, load_fleet
from labfleet_sim.people import PeopleConfigError, PeopleSpec, load_people
from labfleet_sim.physics import Simulator
from labfleet_sim.social import Walkways
from labfleet_sim.world import World, WorldError, load_world


class SimConfigError(ValueError):
    """The node's parameters, the command line or the site files are unusable; the message says which and why."""


@dataclass(frozen=True)
class Simulation:
    world: World
    fleet: FleetConfig
    chargers: list[tuple[float, float]]
    sim: Simulator


def load_walkways(path: Path) -> Walkways | None:
    """The places (with their kinds) and lanes of a navgraph.yaml, where crowds walk and robots charge; None when
    it is absent."""
    if not path.exists():
        return None
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        places = {str(n): (float(p["x"]), float(p["y"]), p.get("kind")) for n, p in (raw.get("places") or {}).items()}
        lanes = [(str(lane["from"]), str(lane["to"])) for lane in raw.get("lanes") or []]
    except (yaml.YAMLError, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise SimConfigError(f"{path}: cannot read the places and lanes: {exc}") from None
    return Walkways(places, lanes)


def load_simulation(world_file: Path, fleet_file: Path, *, navgraph_file: Path | None = None, rate_hz: float = 50.0,
                    seed: int = 0, robots: list[str] | None = None, people: PeopleSpec | None = None) -> Simulation:
    """The world, the fleet (only the robots named in `robots` when given, in the fleet's order), the chargers
    and walkways (of `navgraph_file`, by default the navgraph.yaml beside the world), the pedestrians'
    behaviour (`people`, by default the people.yaml beside the world) and a Simulator stepping them at rate_hz;
    SimConfigError naming the file or value at fault."""
    if rate_hz <= 0:
        raise SimConfigError(f"the physics rate ({rate_hz} Hz) must be positive")
    try:
        world = load_world(Path(world_file))
        fleet = load_fleet(Path(fleet_file))
    except (WorldError, FleetConfigError) as exc:
        raise SimConfigError(str(exc)) from None
    if robots is not None:
        unknown = sorted(set(robots) - {r.id for r in fleet.robots})
        if unknown:
            raise SimConfigError(f"{fleet_file}: no robot {', '.join(unknown)} (robots: "
                                 f"{', '.join(r.id for r in fleet.robots)})")
        fleet = FleetConfig(site=fleet.site, models=fleet.models, robots=[r for r in fleet.robots if r.id in robots])
    graph_file = Path(navgraph_file) if navgraph_file else Path(world_file).with_name("navgraph.yaml")
    walkways = load_walkways(graph_file)  # read once: the chargers are its places of kind charger
    chargers = [(x, y) for x, y, kind in walkways.places.values() if kind == "charger"] if walkways else []
    if people is None:
        try:
            people = load_people(Path(world_file).with_name("people.yaml"),
                                 place_kinds=walkways.kinds() if walkways else set(),
                                 place_names=set(walkways.places) if walkways else set(),
                                 actors={a.name for a in world.actors})
        except PeopleConfigError as exc:
            raise SimConfigError(str(exc)) from None
    try:
        sim = Simulator(world, fleet, dt=1.0 / rate_hz, seed=seed, chargers=chargers, people=people,
                        walkways=walkways)
    except ValueError as exc:
        raise SimConfigError(str(exc)) from None
    return Simulation(world, fleet, chargers, sim)
