"""Figure 8 of the 2.0 text as a table: what the vehicle does with an order, given where it stands."""

from __future__ import annotations

from typing import Any

import pytest

from tests.vda5050.bench import action, order
from vda5050.enums import ActionScope, ErrorType
from vda5050.models import Order
from vda5050.order_check import Verdict, check_capability, check_structure, decide, rejection

BASE = order("o1", [(0, 0), (1, 0), (2, 0)], released=2)  # a base n0-n1 and a horizon n2


def _decide(o: Order, **where: Any) -> tuple[Verdict, str | None]:
    args: dict[str, Any] = {"current": ("o1", 1), "busy": True, "base_end": ("n1", 2), "last_node": ("n0", 0),
                            "reachable": lambda node: True, "used_action_ids": set(), "capability": lambda o: []}
    decision = decide(o, **(args | where))
    return decision.verdict, decision.problems[0].error_type if decision.problems else None


@pytest.mark.parametrize(("message", "where", "expected"), [
    (order("o2", [(0, 0)]), {"current": None, "busy": False}, (Verdict.NEW, None)),
    (order("o2", [(0, 0)]), {"busy": False}, (Verdict.NEW, None)),
    (order("o2", [(0, 0)]), {"busy": True}, (Verdict.REJECT, ErrorType.ORDER_UPDATE)),
    (order("o2", [(0, 0)]), {"busy": False, "reachable": lambda node: False}, (Verdict.REJECT, ErrorType.NO_ROUTE)),
    (order("o1", [(1, 0)], update_id=0, first_seq=2, names=["n1"]), {}, (Verdict.REJECT, ErrorType.ORDER_UPDATE)),
    (order("o1", [(1, 0)], update_id=1, first_seq=2, names=["n1"]), {}, (Verdict.IGNORE, None)),
    (order("o1", [(1, 0), (2, 0)], update_id=2, first_seq=2, names=["n1", "n2"]), {}, (Verdict.UPDATE, None)),
    (order("o1", [(0, 0), (1, 0)], update_id=2, names=["n0", "n1"]), {}, (Verdict.REJECT, ErrorType.ORDER_UPDATE)),
    (order("o1", [(1, 0), (2, 0)], update_id=2, first_seq=6, names=["n1", "n2"]), {},
     (Verdict.REJECT, ErrorType.ORDER_UPDATE)),  # the right node, but another pass of it (sequenceId)
    (order("o1", [(0, 0), (2, 0)], update_id=2, names=["n0", "n5"]), {"busy": False},
     (Verdict.UPDATE, None)),  # the order is over: an update continues from the last node
    (order("o1", [(1, 0), (2, 0)], update_id=2, first_seq=2, names=["n1", "n2"], node_actions={1: [action("x", "a")]}),
     {"used_action_ids": {"a"}}, (Verdict.REJECT, ErrorType.VALIDATION)),
    (order("o1", [(1, 0), (2, 0)], update_id=2, first_seq=2, names=["n1", "n2"]), {"canceling": True},
     (Verdict.REJECT, ErrorType.ORDER_UPDATE)),
])
def test_figure_8(message: Order, where: dict[str, Any], expected: tuple[Verdict, str | None]) -> None:
    assert _decide(message, **where) == expected


def test_structure_rules() -> None:
    assert check_structure(BASE) == []
    broken = BASE.model_copy(update={"edges": [BASE.edges[0].model_copy(update={"end_node_id": "n9"}), BASE.edges[1]]})
    assert "must lead from node n0 to node n1" in check_structure(broken)[0].description
    late = BASE.model_copy(update={"nodes": [*BASE.nodes[:2], BASE.nodes[2].model_copy(update={"released": True})]})
    assert "released after the unreleased edge" in check_structure(late)[0].description
    twice = order("o1", [(0, 0), (1, 0)], node_actions={0: [action("x", "a")], 1: [action("y", "a")]})
    assert [p.references for p in check_structure(twice)] == [(("actionId", "a"),)]
    assert check_structure(order("o1", [])) and check_structure(order("o1", [(0, 0)], released=0))


def test_capability_and_rejection_references() -> None:
    zoned = BASE.model_copy(update={"zone_set_id": "z1"})
    problems = check_capability(zoned, map_id="lab", height_m=0.5, scopes_of=lambda t: frozenset(ActionScope))
    assert [(p.error_type, p.references) for p in problems] == [(ErrorType.ORDER, (("zoneSetId", "z1"),))]
    error_type, description, refs = rejection(zoned, tuple(problems))
    assert error_type == ErrorType.ORDER and "zones" in description
    assert refs == [("headerId", "0"), ("topic", "order"), ("orderId", "o1"), ("orderUpdateId", "0"),
                    ("zoneSetId", "z1")]
    low = BASE.model_copy(update={"edges": [BASE.edges[0].model_copy(update={"max_height": 0.3}), BASE.edges[1]]})
    assert "maxHeight" in check_capability(low, map_id="lab", height_m=0.5,
                                           scopes_of=lambda t: frozenset())[0].description
