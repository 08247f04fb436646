"""Roles (ordered) and the principal a request acts as. Pure: no FastAPI, no SQL."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

ALL_SITES = "*"


class Role(StrEnum):
    """What a user may do; each role may do everything the roles before it may."""

    viewer = "viewer"
    researcher = "researcher"
    operator = "operator"
    admin = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a user, its role and the sites it may use (("*",): all of them)."""

    username: str
    role: Role
    sites: tuple[str, ...]

    def can_use(self, site: str) -> bool:
        return self.role is Role.admin or ALL_SITES in self.sites or site in self.sites

    def refusal(self, needed: Role, site: str | None) -> str | None:
        """Why this principal may not act with `needed` on `site` (None: it may; no site: no site check)."""
        if site is not None and not self.can_use(site):
            return f"user {self.username!r} has no access to site {site!r}"
        if not self.role.allows(needed):
            return f"role {needed} needed; user {self.username!r} has role {self.role}"
        return None
