"""What the vehicle does with a received order, as figure 8 of the 2.0 text draws it: is it well formed
(6.6.1, 6.6.4.1: else validationError), can this vehicle carry it out (6.1.1, 6.6.4.2: else orderError), is it
a new order whose first node the vehicle stands on (else noRouteError), or an update that continues the
current one (6.6.2, 6.6.4.3: else orderUpdateError), or the same update again (ignored)."""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass
from enum import StrEnum

from vda5050.enums import ActionScope, ErrorType, OrientationType
from vda5050.models import Action, Edge, Node, Order

Reference = tuple[str, str]  # (referenceKey, referenceValue)


@dataclass(frozen=True)
class Problem:
    error_type: str  # ErrorType.VALIDATION or ErrorType.ORDER
    description: str
    references: tuple[Reference, ...] = ()


def all_actions(nodes: list[Node], edges: list[Edge]) -> list[Action]:
    return [a for node in nodes for a in node.actions] + [a for edge in edges for a in edge.actions]


def check_structure(order: Order) -> list[Problem]:
    """The graph rules of 6.6.1: nodes and edges alternate, edges join consecutive nodes, the base comes first."""
    problems: list[Problem] = []

    def bad(text: str, *refs: Reference) -> None:
        problems.append(Problem(ErrorType.VALIDATION, text, refs))

    nodes, edges = order.nodes, order.edges
    if not nodes:
        bad("an order needs at least one node")
        return problems
    if len(edges) != len(nodes) - 1:
        bad(f"{len(nodes)} nodes need {len(nodes) - 1} edges, the order has {len(edges)}")
        return problems
    if not nodes[0].released:
        bad("the first node must be released", ("nodeId", nodes[0].node_id))
    for i, edge in enumerate(edges):
        start, end = nodes[i], nodes[i + 1]
        ref = ("edgeId", edge.edge_id)
        if (edge.start_node_id, edge.end_node_id) != (start.node_id, end.node_id):
            bad(f"edge {edge.edge_id} must lead from node {start.node_id} to node {end.node_id}", ref)
        if not start.sequence_id < edge.sequence_id < end.sequence_id:
            bad(f"the sequenceIds of edge {edge.edge_id} and its nodes must increase along the order", ref)
        if edge.released and not (start.released and end.released):
            bad(f"edge {edge.edge_id} is released but not both its nodes", ref)
        if end.released and not edge.released:
            bad(f"node {end.node_id} is released after the unreleased edge {edge.edge_id}", ("nodeId", end.node_id))
    ids = [a.action_id for a in all_actions(nodes, edges)]
    for action_id in sorted({i for i in ids if ids.count(i) > 1}):
        bad(f"actionId {action_id} is used more than once", ("actionId", action_id))
    return problems


def check_capability(order: Order, *, map_id: str, height_m: float,
                     scopes_of: Callable[[str], frozenset[ActionScope]]) -> list[Problem]:
    """What this vehicle cannot do: node positions missing or on another map, fields it does not use
    (trajectory, direction, orientation other than forwards, zones), edges too low, actions it lacks."""
    problems: list[Problem] = []

    def cannot(text: str, *refs: Reference) -> None:
        problems.append(Problem(ErrorType.ORDER, text, refs))

    def check_actions(actions: list[Action], scope: ActionScope, where: Reference) -> None:
        for action in actions:
            if scope not in scopes_of(action.action_type):
                cannot(f"the vehicle cannot run action {action.action_type} on a {scope.lower()}", where,
                       ("actionId", action.action_id), ("actionType", action.action_type))

    if order.zone_set_id:
        cannot("the vehicle uses no zones", ("zoneSetId", order.zone_set_id))
    for node in order.nodes:
        ref = ("nodeId", node.node_id)
        if node.node_position is None:
            cannot(f"node {node.node_id} has no nodePosition", ref)
        elif node.node_position.map_id != map_id:
            cannot(f"node {node.node_id} is on map {node.node_position.map_id}, the vehicle on {map_id}", ref)
        check_actions(node.actions, ActionScope.NODE, ref)
    for edge in order.edges:
        ref = ("edgeId", edge.edge_id)
        if edge.trajectory is not None:
            cannot(f"edge {edge.edge_id}: the vehicle follows straight edges, not trajectories", ref)
        if edge.direction is not None:
            cannot(f"edge {edge.edge_id}: direction is for line-guided vehicles", ref)
        if edge.orientation_type is OrientationType.GLOBAL or (edge.orientation or 0.0) != 0.0:
            cannot(f"edge {edge.edge_id}: the vehicle drives forwards along edges only", ref)
        if edge.max_speed is not None and edge.max_speed <= 0:
            cannot(f"edge {edge.edge_id}: maxSpeed must be above 0", ref)
        if edge.max_height is not None and edge.max_height < height_m:
            cannot(f"edge {edge.edge_id}: maxHeight {edge.max_height} m is below the vehicle's {height_m} m", ref)
        check_actions(edge.actions, ActionScope.EDGE, ref)
    return problems


class Verdict(StrEnum):
    NEW = "new"  # accept as a new order
    UPDATE = "update"  # stitch onto the current order
    IGNORE = "ignore"  # the current update again (6.6.4.3)
    REJECT = "reject"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    problems: tuple[Problem, ...] = ()


NodeKey = tuple[str, int]  # (nodeId, sequenceId)


def decide(order: Order, *, current: tuple[str, int] | None, busy: bool, base_end: NodeKey | None,
           last_node: NodeKey, reachable: Callable[[Node], bool], used_action_ids: Container[str],
           capability: Callable[[Order], list[Problem]], canceling: bool = False) -> Decision:
    """Figure 8. `current`: (orderId, orderUpdateId) of the vehicle's order, None before its first; `busy`: it
    has nodes ahead or order actions not over; `base_end`: the last node of its base; `last_node`: the last
    node it traversed; `capability`: the vehicle's check_capability; `canceling`: a cancelOrder still runs."""
    problems = check_structure(order) or capability(order)
    if problems:
        return Decision(Verdict.REJECT, tuple(problems))
    if canceling:
        return _no(ErrorType.ORDER_UPDATE, "the vehicle is still canceling its order (cancelOrder is RUNNING)")
    first = order.nodes[0]
    first_ref = ("nodeId", first.node_id)
    if current is None or order.order_id != current[0]:
        if busy:
            return _no(ErrorType.ORDER_UPDATE, f"the vehicle still carries out order {current[0] if current else ''}; "
                       "cancel it first")
        if not reachable(first):
            return _no(ErrorType.NO_ROUTE, f"the vehicle is not on the first node {first.node_id} (nor within its "
                       "deviation range)", first_ref)
        return Decision(Verdict.NEW)
    if order.order_update_id < current[1]:
        return _no(ErrorType.ORDER_UPDATE, f"orderUpdateId {order.order_update_id} is below the current {current[1]}")
    if order.order_update_id == current[1]:
        return Decision(Verdict.IGNORE)
    expected = base_end if busy and base_end is not None else last_node
    if (first.node_id, first.sequence_id) != expected:
        return _no(ErrorType.ORDER_UPDATE, f"an update must start on node {expected[0]} (sequenceId {expected[1]}), "
                   "the end of the base", first_ref)
    reused = [a.action_id for a in all_actions(order.nodes[1:], order.edges) if a.action_id in used_action_ids]
    if reused:
        return _no(ErrorType.VALIDATION, "actionIds already used in this order", *(("actionId", a) for a in reused))
    return Decision(Verdict.UPDATE)


def _no(error_type: str, description: str, *refs: Reference) -> Decision:
    return Decision(Verdict.REJECT, (Problem(error_type, description, refs),))


def rejection(order: Order, problems: tuple[Problem, ...]) -> tuple[str, str, list[Reference]]:
    """The error for a refused order (errorType, description, references): its header, topic, orderId and
    orderUpdateId (7.1), then what the problems name."""
    refs: list[Reference] = [("headerId", str(order.header_id)), ("topic", "order"), ("orderId", order.order_id),
                             ("orderUpdateId", str(order.order_update_id))]
    refs += [r for p in problems for r in p.references if r not in refs]
    return problems[0].error_type, "; ".join(p.description for p in problems), refs
