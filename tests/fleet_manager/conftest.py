from __future__ import annotations

import pytest

from fleet_manager.core.navgraph import parse_navgraph


@pytest.fixture
def graph():
    """A small T-shaped site: a west-east corridor with a room north of its middle, a one-way shortcut."""
    return parse_navgraph(
        {
            "site": "t",
            "places": {
                "w": {"x": 0, "y": 0},
                "mid": {"x": 5, "y": 0},
                "e": {"x": 10, "y": 0},
                "room": {"x": 5, "y": 4, "kind": "room"},
                "dock": {"x": 0, "y": -2, "yaw": 1.57, "kind": "charger"},
                "island": {"x": 20, "y": 20},
            },
            "lanes": [
                {"from": "w", "to": "mid"},
                {"from": "mid", "to": "e", "speed_limit": 0.5},
                {"from": "mid", "to": "room"},
                {"from": "dock", "to": "w"},
                {"id": "shortcut", "from": "room", "to": "e", "oneway": True},
            ],
        },
        "test",
    )
