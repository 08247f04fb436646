"""Every error answer is an RFC 9457 problem with a stable code (issue 18): application/problem+json with `type`,
`title`, `status`, `detail` and `code` (and `field`, `errors` where they apply), whatever refuses the request — a
domain error, schema validation, an unreadable body, authentication, the role, an unknown route, the body limit.
The OpenAPI document says so for every error answer, every code is in docs/api_errors.md, and the console has a
message for each."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fleet_manager.problems import PROBLEM_JSON, TITLES, TYPE_PREFIX
from tests.api.conftest import API

REPO = Path(__file__).resolve().parents[2]


def assert_problem(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers
    body = r.json()
    assert {"type", "title", "status", "detail", "code"} <= set(body), body
    assert (body["status"], body["code"], body["type"]) == (status, code, TYPE_PREFIX + code), body
    assert body["title"] == TITLES[code] and isinstance(body["detail"], str) and body["detail"], body
    return body


def test_each_kind_of_refusal_is_a_problem_with_its_code(client, make_user):
    assert_problem(client.get(f"{API}/missions/999999"), 404, "not_found")
    body = assert_problem(client.post(f"{API}/missions", json={"spec": {"steps": [{"go_to": "atlantis"}]}}), 422,
                          "invalid_input")
    assert "atlantis" in body["detail"] and body["field"]
    body = assert_problem(client.post(f"{API}/missions", json={"template": 7}), 422, "validation_failed")
    assert body["errors"] and all({"loc", "msg", "type"} <= set(e) for e in body["errors"]), body
    assert "template" in body["detail"]
    body = assert_problem(client.post(f"{API}/missions", content=b'{"spec": ', headers={"content-type":
                                                                                      "application/json"}),
                          422, "invalid_body")
    assert body["errors"][0]["type"] == "json_invalid"
    assert_problem(client.post(f"{API}/missions/999999/cancel"), 404, "not_found")
    assert_problem(client.get(f"{API}/no-such-route"), 404, "not_found")
    assert_problem(client.put(f"{API}/health"), 405, "method_not_allowed")
    assert_problem(client.get(f"{API}/missions", headers={"Authorization": "Bearer not-a-token"}), 401, "unauthorized")
    viewer = make_user("vic", "viewer")
    assert_problem(viewer.post(f"{API}/missions", json={"spec": {"steps": [{"go_to": "lobby"}]}}), 403, "forbidden")
    too_big = b"x" * (client.app.state.settings.max_request_bytes + 1)
    assert_problem(client.post(f"{API}/missions", content=too_big, headers={"content-type": "application/json"}),
                   413, "too_large")
    queued = client.post(f"{API}/missions", json={"spec": {"steps": [{"go_to": "lobby"}]},
                                                  "not_before": "2099-01-01T00:00:00Z"}).json()
    assert_problem(client.post(f"{API}/missions/{queued['id']}/resume"), 409, "conflict")


def test_the_openapi_document_names_problem_json_for_every_error(client):
    doc = client.get(f"{API}/openapi.json").json()
    errors = 0
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation.get("responses", {}).items():
                if status[:1] in "45" and "content" in answer:
                    assert list(answer["content"]) == [PROBLEM_JSON], (method, path, status, answer)
                    errors += 1
    assert errors > 100
    assert {"type", "title", "status", "detail", "code"} <= set(doc["components"]["schemas"]["ErrorBody"]["required"])


def test_every_code_is_documented_and_the_console_translates_it():
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", (REPO / "docs" / "api_errors.md").read_text(), re.M))
    assert documented == set(TITLES)
    for lang in ("en", "ko"):
        catalogue = json.loads((REPO / "web_console" / "src" / "locales" / lang / "common.json").read_text())
        assert {f"problem.{code}" for code in TITLES} <= set(catalogue), lang


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 413, 422, 429, 500, 503])
def test_every_status_maps_to_a_documented_code(status):
    from fleet_manager.problems import code_of_status

    assert code_of_status(status) in TITLES
