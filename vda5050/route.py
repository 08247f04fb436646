"""The part of an order still ahead of the vehicle, and the geometry of driving it (2.0 text 6.6.2, 6.10.2).

Route.nodes[0] is the next node to traverse and Route.edges[i] leads into Route.nodes[i]; the first node of an
order is traversed on acceptance. The vehicle drives in legs: from where it is through the released nodes up
to the first node where it must stop (the end of the base; a node with SOFT or HARD actions, or before an
edge with such actions; a node whose theta the vehicle would not meet driving through)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import NamedTuple

from labfleet_robot.controller import wrap

from vda5050.enums import BlockingType
from vda5050.models import Action, Edge, EdgeState, Node, NodePosition, NodeState, Order

Point = tuple[float, float]
Pose = tuple[float, float, float]


class Frame(NamedTuple):
    """A rigid transform of poses: where the vehicle believes it is, given where the caller says it is."""

    x: float = 0.0
    y: float = 0.0
    yaw: float = 0.0

    def apply(self, pose: Pose) -> Pose:
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return c * pose[0] - s * pose[1] + self.x, s * pose[0] + c * pose[1] + self.y, wrap(pose[2] + self.yaw)

    @classmethod
    def placing(cls, pose: Pose, believed: Pose) -> Frame:
        """The transform that takes `pose` to `believed` (initPosition)."""
        yaw = wrap(believed[2] - pose[2])
        c, s = math.cos(yaw), math.sin(yaw)
        return cls(believed[0] - (c * pose[0] - s * pose[1]), believed[1] - (s * pose[0] + c * pose[1]), yaw)


def xy(node: Node) -> Point:
    assert node.node_position is not None  # orders without node positions are refused
    return node.node_position.x, node.node_position.y


def deviation_xy(node: Node, default: float) -> float:
    """The radius within which the node counts as reached (allowedDeviationXY, else the vehicle's own)."""
    given = node.node_position.allowed_deviation_xy if node.node_position else None
    return given if given else default


def _blocking(actions: list[Action]) -> bool:
    return any(a.blocking_type is not BlockingType.NONE for a in actions)


def _heading(a: Point, b: Point) -> float | None:
    return math.atan2(b[1] - a[1], b[0] - a[0]) if math.dist(a, b) > 1e-6 else None


@dataclass
class Route:
    nodes: list[Node]
    edges: list[Edge]
    last_node: Node | None = None  # the last node of this order traversed

    @classmethod
    def of(cls, order: Order) -> Route:
        return cls(list(order.nodes), list(order.edges))

    def released(self) -> int:
        """How many of the nodes ahead are released (the base ahead)."""
        return next((i for i, node in enumerate(self.nodes) if not node.released), len(self.nodes))

    def has_horizon(self) -> bool:
        return self.released() < len(self.nodes)

    def base_end(self) -> Node | None:
        """The last node of the base: the decision point an order update must start from."""
        n = self.released()
        return self.nodes[n - 1] if n else self.last_node

    def pop(self) -> tuple[Node, Edge | None]:
        """The next node is traversed: it and the edge into it leave the route."""
        node = self.nodes.pop(0)
        edge = self.edges.pop(0) if self.last_node is not None else None
        self.last_node = node
        return node, edge

    def stitch(self, update: Order) -> tuple[list[Node], list[Edge]]:
        """Append an order update at the base end (its first node); the horizon it replaces is returned."""
        n = self.released()
        dropped = self.nodes[n:], self.edges[n:]
        self.nodes = self.nodes[:n] + list(update.nodes[1:])
        self.edges = self.edges[:n] + list(update.edges)
        return dropped

    def clear(self) -> None:
        self.nodes.clear()
        self.edges.clear()

    def node_states(self) -> list[NodeState]:
        """The nodes ahead for the state; a position only with theta (which the 2.0.0 state schema requires)."""
        out = []
        for n in self.nodes:
            p = n.node_position
            position = NodePosition(x=p.x, y=p.y, theta=p.theta, map_id=p.map_id) if p and p.theta is not None else None
            out.append(NodeState(node_id=n.node_id, sequence_id=n.sequence_id, node_description=n.node_description,
                                 released=n.released, node_position=position))
        return out

    def edge_states(self) -> list[EdgeState]:
        return [EdgeState(edge_id=e.edge_id, sequence_id=e.sequence_id, edge_description=e.edge_description,
                          released=e.released) for e in self.edges]

    # -- driving --------------------------------------------------------------------------------------------
    def _previous(self, i: int, here: Point) -> Point:
        if i > 0:
            return xy(self.nodes[i - 1])
        return xy(self.last_node) if self.last_node is not None else here

    def must_stop(self, i: int, here: Point, yaw_tolerance: float) -> bool:
        """Whether the vehicle stops on node i (released, not the last of the base) rather than drive through."""
        node = self.nodes[i]
        if _blocking(node.actions) or _blocking(self.edges[i + 1].actions):
            return True
        theta = node.node_position.theta if node.node_position else None
        if theta is None:
            return False
        given = abs(node.node_position.allowed_deviation_theta or 0.0) if node.node_position else 0.0
        tolerance = given or yaw_tolerance
        headings = (_heading(self._previous(i, here), xy(node)), _heading(xy(node), xy(self.nodes[i + 1])))
        return any(h is None or abs(wrap(theta - h)) > tolerance for h in headings)

    def leg(self, here: Point, yaw_tolerance: float) -> tuple[int, list[Point], list[float], float | None]:
        """The next leg: index of its stop node, waypoints, speed caps (maxSpeed of the edge into each
        waypoint, 0 = none) and the heading to take at the stop node (None = any)."""
        n = self.released()
        stop = next(i for i in range(n) if i == n - 1 or self.must_stop(i, here, yaw_tolerance))
        waypoints = [xy(node) for node in self.nodes[:stop + 1]]
        speeds = [edge.max_speed or 0.0 for edge in self.edges[:stop + 1]]
        end = self.nodes[stop].node_position
        return stop, waypoints, speeds, end.theta if end else None

    def base_left(self, here: Point) -> float:
        """Distance along the base from here to its end (0 when the base ahead is empty)."""
        n = self.released()
        if n == 0:
            return 0.0
        points = [here, *(xy(node) for node in self.nodes[:n])]
        return sum(math.dist(a, b) for a, b in itertools.pairwise(points))

    def passed(self, here: Point, radius: float) -> bool:
        """Whether the vehicle has reached the next node: within its deviation radius, or (having cut a bend
        wider than that) beyond it along both the edge into it and the edge out of it."""
        node = xy(self.nodes[0])
        if math.dist(here, node) <= radius:
            return True
        dx, dy = here[0] - node[0], here[1] - node[1]
        ends = [self._previous(0, here)] + ([xy(self.nodes[1])] if len(self.nodes) > 1 else [])
        if len(ends) < 2:
            return False
        back, ahead = _heading(ends[0], node), _heading(node, ends[1])
        if back is None or ahead is None:
            return False
        return all(dx * math.cos(h) + dy * math.sin(h) > 0 for h in (back, ahead))
