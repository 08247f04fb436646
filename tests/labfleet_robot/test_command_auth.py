"""The lab's command key and the signatures of robot commands (labfleet_robot/command_auth.py): pure, no rclpy."""

from __future__ import annotations

import os
import stat

import pytest
from labfleet_interfaces.srv import RobotCommand
from labfleet_robot import command_auth
from labfleet_robot.command_auth import Auth, BadKey, Signer, Verifier

KEY = bytes(range(32))
ESTOP, RESUME = RobotCommand.Request.ESTOP, RobotCommand.Request.RESUME


def check(verifier: Verifier, signed: command_auth.Signed, command: int = ESTOP, reason: str = "door",
          now_ns: int | None = None, **changed: str) -> Auth:
    fields = {"origin": signed.origin, "nonce": signed.nonce, "signature": signed.signature} | changed
    return verifier.check(command, reason, fields["origin"], signed.stamp_ns, fields["nonce"], fields["signature"],
                          now_ns=now_ns)


def test_a_signed_command_verifies_once_and_only_as_signed():
    signed = Signer(KEY, "fleet_manager").sign("delivery_1", ESTOP, "door")
    assert signed.origin == "fleet_manager" and len(signed.signature) == 64
    verifier = Verifier(KEY, "delivery_1")
    assert check(verifier, signed) is Auth.OK
    assert check(verifier, signed) is Auth.REPLAYED
    fresh = Verifier(KEY, "delivery_1")
    assert check(fresh, signed, command=RESUME) is Auth.BAD_SIGNATURE  # another command
    assert check(fresh, signed, reason="") is Auth.BAD_SIGNATURE
    assert check(fresh, signed, origin="someone") is Auth.BAD_SIGNATURE
    assert check(fresh, signed, nonce="00") is Auth.BAD_SIGNATURE
    assert check(Verifier(KEY, "delivery_2"), signed) is Auth.BAD_SIGNATURE  # for another robot
    assert check(Verifier(bytes(32), "delivery_1"), signed) is Auth.BAD_SIGNATURE  # another lab's key
    assert check(fresh, signed, signature="") is Auth.UNSIGNED
    assert check(Verifier(None, "delivery_1"), signed) is Auth.NO_KEY
    late = signed.stamp_ns + int(command_auth.FRESH_S * 1e9) + 1
    assert check(Verifier(KEY, "delivery_1"), signed, now_ns=late) is Auth.STALE


def test_a_signer_knows_its_own_nonces_and_signs_nothing_without_a_key():
    signer = Signer(KEY, "fleet_manager")
    signed = signer.sign("delivery_1", ESTOP, "")
    assert signer.sent(signed.nonce) and not signer.sent("cafe") and not signer.sent("")
    assert not Signer(KEY, "other").sent(signed.nonce)
    assert Signer(None, "fleet_manager").sign("delivery_1", ESTOP, "").signature == ""


def test_only_stopping_is_carried_out_unauthenticated():
    allowed = {c for c in range(10) if command_auth.carried_out_unauthenticated(c)}
    assert allowed == {RobotCommand.Request.ESTOP, RobotCommand.Request.PAUSE}


def test_the_key_file_is_owner_only_and_a_readable_one_is_refused(tmp_path):
    path = tmp_path / "run" / "command.key"
    command_auth.write_key_file(path, KEY)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert command_auth.load_key({command_auth.KEY_FILE_ENV: str(path)}) == KEY
    os.chmod(path, 0o644)
    with pytest.raises(BadKey, match="may be read by others"):
        command_auth.load_key({command_auth.KEY_FILE_ENV: str(path)})
    assert command_auth.load_key({command_auth.KEY_ENV: KEY.hex()}) == KEY
    assert command_auth.load_key({}) is None
    with pytest.raises(BadKey, match="not hex"):
        command_auth.load_key({command_auth.KEY_ENV: "not a key"})
    with pytest.raises(BadKey, match="shorter"):
        command_auth.load_key({command_auth.KEY_ENV: "abcd"})


def test_a_contact_is_taken_only_when_the_labs_simulator_signed_it() -> None:
    key = command_auth.new_key()
    check = command_auth.ContactCheck(key)
    nonce, signature = command_auth.sign_contact(key, "r1", "r2", "robot", "robot", 12_000_000_000)
    assert check.check("r1", "r2", "robot", "robot", 12_000_000_000, nonce, signature) is command_auth.Auth.OK
    assert check.check("r1", "r2", "robot", "robot", 12_000_000_000, nonce, signature) is command_auth.Auth.REPLAYED
    nonce, signature = command_auth.sign_contact(key, "r1", "r2", "robot", "robot", 13_000_000_000)
    for changed in (("r9", "r2", "robot", "robot", 13_000_000_000), ("r1", "r2", "person", "robot", 13_000_000_000),
                    ("r1", "r2", "robot", "robot", 14_000_000_000)):
        assert check.check(*changed, nonce, signature) is command_auth.Auth.BAD_SIGNATURE, changed
    other = command_auth.sign_contact(command_auth.new_key(), "r1", "r2", "robot", "robot", 13_000_000_000)
    assert check.check("r1", "r2", "robot", "robot", 13_000_000_000, *other) is command_auth.Auth.BAD_SIGNATURE
    assert check.check("r1", "r2", "robot", "robot", 13_000_000_000, "", "") is command_auth.Auth.UNSIGNED
    assert command_auth.sign_contact(None, "r1", "r2", "robot", "robot", 1) == ("", "")
    assert command_auth.ContactCheck(None).check("r1", "r2", "robot", "robot", 1, "", "") is command_auth.Auth.NO_KEY
