"""A small client of the fleet manager's HTTP API for the CLI."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_API = "http://127.0.0.1:8000"


class ApiError(Exception):
    def __init__(self, status: int, detail: Any, field: str | None = None) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail
        self.field = field


def api_url(explicit: str | None) -> str:
    return (explicit or os.environ.get("LABFLEET_API_URL") or DEFAULT_API).rstrip("/")


class Client:
    def __init__(self, base: str, timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(base_url=f"{base}/api/v1", timeout=timeout, transport=transport)

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        return self._request(method, path, **kw).json()

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise ApiError(0, f"cannot reach the fleet manager at {self._http.base_url}: {exc}") from exc
        if response.status_code >= 400:
            try:
                body = response.json()
                detail, field = body.get("detail", response.text), body.get("field")
            except ValueError:
                detail, field = response.text, None
            raise ApiError(response.status_code, detail, field)
        return response

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

    def pilot_report(self, pilot_id: str) -> str:
        """The pilot's report as a self-contained HTML page."""
        return self._request("GET", f"/pilots/{quote(pilot_id, safe='')}/report", timeout=60.0).text

    def pilot_report_csv(self, pilot_id: str) -> str:
        """Every mission run of the pilot, as CSV."""
        return self._request("GET", f"/pilots/{quote(pilot_id, safe='')}/report.csv", timeout=60.0).text
