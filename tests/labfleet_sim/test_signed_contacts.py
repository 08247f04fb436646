"""The simulator's contacts and the fleet manager's check of them agree (issue 19): a contact the simulator signs
with the lab's command key reaches the pilot watch (it becomes an incident there); the same contact unsigned,
altered or signed with another key is refused and reported as forged. The messages are the real ones
(labfleet_sim.conversions.contact), handed to the bridge's subscription callback."""

from __future__ import annotations

import asyncio

from labfleet_robot import command_auth
from labfleet_sim import conversions
from labfleet_sim.physics import Contact

from fleet_manager.ros.bridge import RosBridge


def test_signed_contacts_are_taken_and_forged_ones_refused() -> None:
    key = command_auth.new_key()
    taken: list[object] = []
    refused: list[tuple[str, str, str]] = []
    loop = asyncio.new_event_loop()
    try:
        bridge = RosBridge(loop, lambda _batch: None, on_contact=taken.append, contact_key=key,
                           on_forged_contact=lambda *forged: refused.append(forged))
        contact = Contact(12.5, "delivery_1", "visitor_3", 4.0, 2.0, 0.5, "person", 0.0, 1.2, "person")
        bridge._on_contact_msg(conversions.contact(contact, key))  # the simulator's, signed
        altered = conversions.contact(contact, key)
        altered.by = "robot"  # now it blames the robot
        bridge._on_contact_msg(altered)
        bridge._on_contact_msg(conversions.contact(contact))  # unsigned (a process without the key)
        bridge._on_contact_msg(conversions.contact(contact, command_auth.new_key()))  # another lab's key
        loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()
    assert len(taken) == 1 and taken[0].robot_id == "delivery_1" and taken[0].by == "person"  # type: ignore[attr-defined]
    assert [why for _, _, why in refused] == ["bad signature", "unsigned", "bad signature"]
