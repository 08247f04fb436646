"""What the auth endpoints take and return."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from fleet_manager.auth.roles import Role
from fleet_manager.missions.schemas import as_utc


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds the access token lives")
    role: Role
    sites: list[str]


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=4096)


class Me(BaseModel):
    username: str
    role: Role
    sites: list[str]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, description="a-z, 0-9, '.', '_', '-'")
    password: str = Field(min_length=1, max_length=1024)
    role: Role
    sites: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=100,
                             description="site names, or ['*'] for every site (an admin always has every site)")


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    sites: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=100, description="site names, or ['*']; omitted: kept")


class UserPublic(BaseModel):
    username: str
    role: Role
    sites: list[str]
    enabled: bool
    created_at: datetime
    disabled_at: datetime | None

    @field_serializer("created_at", "disabled_at")
    def _utc(self, value: datetime | None) -> str | None:  # SQLite hands datetimes back naive: they are UTC
        return as_utc(value).isoformat() if value is not None else None
