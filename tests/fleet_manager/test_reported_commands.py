"""Commands the robots report receiving (issue 19): the ones this fleet manager did not send are audited, flagged
when unauthenticated (fleet_manager/audit/reported.py); `labfleet up` hands the lab's command key to the fleet
manager and the agents by the environment, never argv (fleet_manager/cli/lab_up.py)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from labfleet_robot import command_auth

from fleet_manager.audit.entries import AuditEntry, Outcome
from fleet_manager.audit.reported import ReportedCommands
from fleet_manager.audit.writer import AuditWriter
from fleet_manager.core.robots import CommandReport, CommandResult
from fleet_manager.settings import Settings


def report(signer: command_auth.Signer | None = None, *, command: str = "estop", origin: str = "intruder",
           authenticated: bool = False, result: CommandResult = CommandResult.OK, message: str = "emergency stop",
           auth_detail: str = "unsigned") -> CommandReport:
    nonce = signer.sign("delivery_1", 2, "").nonce if signer is not None else "f00d"
    return CommandReport("delivery_1", command, "", origin, authenticated, auth_detail, nonce, result, message)


def audited(reports: list[CommandReport], signer: command_auth.Signer) -> list[AuditEntry]:
    stored: list[AuditEntry] = []
    writer = AuditWriter(stored.extend)
    writer.start()
    handler = ReportedCommands(writer, signer.sent)
    for r in reports:
        handler.on_report(r)
    assert writer.flush(5)
    writer.stop()
    assert handler.foreign == len(stored)
    return stored


def test_an_unauthenticated_command_is_audited_flagged_by_its_stated_origin():
    signer = command_auth.Signer(b"k" * 32, "fleet_manager")
    [estop, resume] = audited([
        report(),
        report(command="resume", result=CommandResult.REJECTED, message="unauthenticated command refused (unsigned)"),
    ], signer)
    assert (estop.username, estop.role, estop.method, estop.path, estop.action, estop.target) == (
        "ros:intruder", "ros", "COMMAND", "/robots/delivery_1", "robot estop", "robot_id=delivery_1")
    assert estop.outcome is Outcome.OK
    assert estop.detail == "unauthenticated command from intruder (unsigned): ok: emergency stop"
    assert resume.outcome is Outcome.REFUSED and resume.detail.startswith("unauthenticated command from intruder")


def test_the_fleet_managers_own_signed_commands_are_not_audited_twice_and_others_are():
    signer = command_auth.Signer(b"k" * 32, "fleet_manager")
    ours = report(signer, origin="fleet_manager", authenticated=True, auth_detail="")
    assert audited([ours], signer) == []
    # signed with the lab's key by someone else (another fleet manager, a tool given the key): audited, not flagged
    [entry] = audited([ours], command_auth.Signer(b"k" * 32, "fleet_manager"))
    assert entry.username == "ros:fleet_manager"
    assert entry.detail.startswith("signed command from fleet_manager, not sent by this fleet manager")
    # one of ours the robot could not authenticate (a key mismatch) is flagged: it shows the misconfiguration
    [mismatch] = audited([report(signer, origin="fleet_manager", auth_detail="bad signature")], signer)
    assert mismatch.detail.startswith("unauthenticated command from fleet_manager (bad signature)")


def test_a_hostile_origin_is_kept_short_and_stored_like_any_other():
    [entry] = audited([report(origin="x" * 500 + "\0")], command_auth.Signer(None, "fleet_manager"))
    assert len(entry.username or "") <= 64 and entry.row()["detail"].count("x") < 200
    [anonymous] = audited([report(origin="")], command_auth.Signer(None, "fleet_manager"))
    assert anonymous.username == "ros:?"


class Recorder:
    """The supervisor's edge: what `labfleet up` would start, without starting it."""

    def __init__(self) -> None:
        self.started: list[tuple[str, list[str], dict[str, str]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str], **_: Any) -> None:
        self.started.append((name, list(argv), dict(env)))

    def say(self, text: str) -> None:
        pass


def start_lab(tmp_path: Path, **settings: Any) -> list[tuple[str, list[str], dict[str, str]]]:
    from fleet_manager.cli.lab_up import LabUp

    lab = LabUp(Settings(data_dir=tmp_path, **settings), robots=2, backend="lite", port=8998, seed=0, domain_id=0)
    lab.supervisor = Recorder()  # type: ignore[assignment]
    lab.start_children()
    return lab.supervisor.started  # type: ignore[attr-defined]


def test_labfleet_up_hands_a_new_owner_only_key_to_the_manager_and_the_agents_by_the_environment(tmp_path):
    started = start_lab(tmp_path)
    names = [name for name, _, _ in started]
    assert "manager" in names and "sim" in names and len(names) == 4
    paths = {env[command_auth.KEY_FILE_ENV] for _, _, env in started}
    assert len(paths) == 1
    path = Path(paths.pop())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = command_auth.load_key({command_auth.KEY_FILE_ENV: str(path)})
    assert key is not None
    for _, argv, _ in started:
        assert not any(key.hex() in arg or str(path) in arg for arg in argv)
    again = start_lab(tmp_path)  # every run its own key
    assert command_auth.load_key({command_auth.KEY_FILE_ENV: again[0][2][command_auth.KEY_FILE_ENV]}) != key


def test_a_provisioned_key_is_handed_on_as_it_is(tmp_path):
    path = tmp_path / "site.key"
    command_auth.write_key_file(path, b"p" * 32)
    started = start_lab(tmp_path, command_key_file=path)
    assert {env[command_auth.KEY_FILE_ENV] for _, _, env in started} == {str(path)}
    assert list((tmp_path / "run").glob("*/command.key")) == []


def test_the_fleet_manager_reads_its_key_from_the_settings(tmp_path, caplog):
    from pydantic import SecretStr

    from fleet_manager.lab import command_key

    path = tmp_path / "lab.key"
    command_auth.write_key_file(path, b"f" * 32)
    assert command_key(Settings(data_dir=tmp_path, command_key_file=path)) == b"f" * 32
    assert command_key(Settings(data_dir=tmp_path, command_key=SecretStr((b"g" * 32).hex()))) == b"g" * 32
    assert command_key(Settings(data_dir=tmp_path)) is None
    assert "no robot command key" in caplog.text
