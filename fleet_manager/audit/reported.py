"""The commands the robots report receiving (their agents' /fleet/command_log, issue 19) into the audit log.

The fleet manager audits the commands it sends itself when it sends them (Lab.command → AuditWriter.record_command);
a reported command it did not send (its nonce is not one this fleet manager signed) was sent by another process on
the ROS domain: it is written here, by "ros:<origin>", flagged "unauthenticated command from <origin>" when its
signature did not verify. Runs on the event loop (the bridge hands reports over with call_soon_threadsafe).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fleet_manager.audit.entries import reported_command_entry
from fleet_manager.audit.writer import AuditWriter
from fleet_manager.core.robots import CommandReport

log = logging.getLogger(__name__)


class ReportedCommands:
    def __init__(self, audit: AuditWriter, sent_by_us: Callable[[str], bool]) -> None:
        self.audit = audit
        self.sent_by_us = sent_by_us  # Signer.sent: a nonce this fleet manager signed
        self.foreign = 0  # reported commands audited here

    def on_report(self, report: CommandReport) -> None:
        if report.authenticated and self.sent_by_us(report.nonce):
            return  # ours: audited when it was sent
        self.foreign += 1
        if not report.authenticated:
            log.warning("robot %s received an unauthenticated (%s) %s from %r: %s", report.robot_id,
                        report.auth_detail, report.command, report.origin, report.result)
        self.audit.submit(reported_command_entry(
            report.robot_id, report.command, str(report.result), report.message, report.reason, report.origin,
            report.authenticated, report.auth_detail))
