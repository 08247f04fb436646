"""A small client of the fleet manager's HTTP API for the CLI. It sends the stored access token (or
LABFLEET_TOKEN) and, on a 401, refreshes the stored token once and sends the request again."""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import httpx

from fleet_manager.cli import credentials
from fleet_manager.cli.credentials import Credentials, CredentialsError

DEFAULT_API = "http://127.0.0.1:8000"


class ApiError(Exception):
    def __init__(self, status: int, detail: Any, field: str | None = None) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail
        self.field = field


def api_url(explicit: str | None) -> str:
    """--api, else LABFLEET_API_URL, else the fleet manager of the last `labfleet login`, else the local one."""
    stored = None
    if not explicit and not os.environ.get("LABFLEET_API_URL"):
        with contextlib.suppress(CredentialsError):
            stored = credentials.load()
    return (explicit or os.environ.get("LABFLEET_API_URL") or (stored.api if stored else "") or DEFAULT_API).rstrip("/")


def _error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
        detail, field = body.get("detail", response.text), body.get("field")
    except (ValueError, AttributeError):
        detail, field = response.text, None
    return ApiError(response.status_code, detail, field)


class Client:
    def __init__(self, base: str, timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self.base = base.rstrip("/")
        self._http = httpx.Client(base_url=f"{self.base}/api/v1", timeout=timeout, transport=transport)
        self._token: str | None = None
        self._stored: Credentials | None = None  # the login whose token is sent (None: LABFLEET_TOKEN or none)
        self._resolved = False

    def _resolve_token(self) -> None:
        """LABFLEET_TOKEN, else the stored login's token when it is for this fleet manager."""
        if self._resolved:
            return
        self._resolved = True
        self._token = credentials.env_token()
        if self._token is None:
            try:
                stored = credentials.load()
            except CredentialsError as exc:
                raise ApiError(0, str(exc)) from None
            if stored is not None and stored.api.rstrip("/") == self.base:
                self._stored, self._token = stored, stored.access_token

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        return self._request(method, path, **kw).json()

    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", None) or {})
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            return self._http.request(method, path, headers=headers, **kw)
        except httpx.TransportError as exc:
            raise ApiError(0, f"cannot reach the fleet manager at {self._http.base_url}: {exc}") from exc

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        self._resolve_token()
        response = self._send(method, path, **kw)
        if response.status_code == 401 and self._refresh():
            response = self._send(method, path, **kw)
        if response.status_code == 401:
            error = _error(response)
            error.detail = f"{error.detail} (log in with `labfleet login --api {self.base}`)"
            raise error
        if response.status_code >= 400:
            raise _error(response)
        return response

    def _refresh(self) -> bool:
        """The next token pair for the stored refresh token, saved (the one used is spent: the fleet manager takes
        it again for a stolen copy and ends the session); False when there is none or it is refused. One command
        refreshes at a time: one that finds the stored pair refreshed meanwhile by another takes that pair."""
        if self._stored is None:
            return False
        try:
            with credentials.locked():
                current = credentials.load()
                if current is not None and current.api == self._stored.api \
                        and current.refresh_token != self._stored.refresh_token:
                    self._stored, self._token = current, current.access_token
                    return True
                try:
                    response = self._http.post("/auth/refresh", json={"refresh_token": self._stored.refresh_token})
                except httpx.TransportError:
                    return False
                if response.status_code != 200:
                    return False
                tokens = response.json()
                self._stored = replace(self._stored, access_token=tokens["access_token"],
                                       refresh_token=tokens["refresh_token"])
                self._token = self._stored.access_token
                credentials.save(self._stored)
        except CredentialsError as exc:
            raise ApiError(0, str(exc)) from None
        return True

    def login(self, username: str, password: str) -> dict[str, Any]:
        """The token answer of POST /auth/token (no stored token is sent)."""
        try:
            response = self._http.post("/auth/token", data={"username": username, "password": password})
        except httpx.TransportError as exc:
            raise ApiError(0, f"cannot reach the fleet manager at {self._http.base_url}: {exc}") from exc
        if response.status_code != 200:
            raise _error(response)
        result: dict[str, Any] = response.json()
        return result

    def logout(self, stored: Credentials) -> None:
        """End the stored login's session (POST /auth/logout): its refresh and access tokens are refused from now on.
        Its access token is sent (LABFLEET_TOKEN is not), refreshed once when it has expired."""
        self._resolved, self._stored, self._token = True, stored, stored.access_token
        self._request("POST", "/auth/logout", json={"refresh_token": stored.refresh_token})

    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/missions", json=body)
        return result

    def mission(self, mission_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/missions/{mission_id}")
        return result

    def cancel(self, mission_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/missions/{mission_id}/cancel")
        return result

    def act(self, mission_id: int, verb: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """pause | resume | confirm a mission."""
        result: dict[str, Any] = self._call("POST", f"/missions/{mission_id}/{verb}", json=body or {})
        return result

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/health")
        return result

    def pilots(self, site: str | None = None) -> list[dict[str, Any]]:
        """The pilots the user may see (of one site, with `site`)."""
        result: list[dict[str, Any]] = self._call("GET", "/pilots", params={"site": site} if site else None)
        return result

    def pilot_report(self, pilot_id: str, lang: str = "en") -> str:
        """The pilot's report as a self-contained HTML page, in `lang` (en, ko)."""
        return self._request("GET", f"/pilots/{quote(pilot_id, safe='')}/report", params={"lang": lang},
                             timeout=60.0).text

    def pilot_report_csv(self, pilot_id: str) -> str:
        """Every mission run of the pilot, as CSV."""
        return self._request("GET", f"/pilots/{quote(pilot_id, safe='')}/report.csv", timeout=60.0).text
