"""The console's Robots page (the robot registry, issue 14) in Debian Chromium (playwright-core), against the
simulated living lab (six `labfleet` robots of fleet.yaml). robots.e2e.mjs does what an admin does there:

- the six robots are listed with their adapter ("agent") and source (fleet.yaml) and their live status;
- a nav2 robot is added through the form: refused first by the schema (a TF topic with a space, a top speed of 0)
  and then by the registry (a home that is no place of the site), each error next to its field and the typed
  values kept; then registered; it is listed in the registry and in the operations view's robot list;
- its top speed is edited; it is retired after the confirmation (kept once) and is gone, listed again with
  "Show retired robots";
- a robot that announces itself unregistered (injected into GET /robots at the browser's edge: the living lab
  has none) is offered for registration, the form filled in with its id and adapter.

A viewer sees the same page with every control disabled. The robot added has an id of its own (a random suffix)
and is retired at the end whatever happens; the viewer is disabled: the lab is left as it was found.
"""

from __future__ import annotations

import secrets

import pytest

from tests.browser.e2e import fresh_screenshots, run_e2e
from tests.lab_process import http

pytestmark = pytest.mark.browser


def test_an_admin_adds_edits_and_retires_a_robot(running_lab):
    api = f"{running_lab.url}/api/v1"
    robot_id = f"tb4_1_{secrets.token_hex(3)}"
    shots = fresh_screenshots("robots.png", "robot-form-errors.png", "robot-form-home-error.png",
                              "robot-offline-console.png", "robot-retire-confirm.png", "robot-form-vda5050.png")
    try:
        run = run_e2e("robots.e2e.mjs", running_lab, 180, args=(robot_id,))
    finally:
        http.delete(f"{api}/robots/{robot_id}", timeout=10)  # idempotent; 404 when it was never added
    print(run.stdout)
    for shot in shots:
        assert shot.stat().st_size > 10_000, shot

    # what the console did is stored: registered through the API, edited, retired, and never dispatched
    registry = http.get(f"{api}/robot-registry", params={"include_retired": "true"}, timeout=10).json()
    added = next(r for r in registry if r["id"] == robot_id)
    assert (added["adapter"], added["source"], added["model"]["max_speed"]) == ("nav2", "api", 0.45)
    assert added["retired_at"] is not None and added["connection"]["tf_topic"] == f"/{robot_id}/tf"
    assert robot_id not in {r["id"] for r in http.get(f"{api}/robot-registry", timeout=10).json()}
    fleet = [r for r in registry if r["source"] == "fleet.yaml"]
    assert sorted(r["id"] for r in fleet) == ["amr_1", "arm_1", "cleaner_1", "delivery_1", "delivery_2", "guide_1"]
    assert all(r["retired_at"] is None for r in fleet)
    assert not http.get(f"{api}/missions", params={"robot_id": robot_id}, timeout=10).json()

    # and audited: one registration, the refused attempts (invalid), one edit, one retirement, all by the admin
    audit = http.get(f"{api}/audit", params={"username": "admin", "limit": 500}, timeout=10).json()
    mine = [e for e in audit if robot_id in e["target"] or robot_id in e["path"] or robot_id in e["detail"]]
    done = sorted((e["method"], e["outcome"]) for e in mine if e["method"] in ("POST", "PATCH", "DELETE"))
    assert ("DELETE", "ok") in done and ("PATCH", "ok") in done, mine
    posts = [e for e in audit if e["method"] == "POST" and e["action"] == "POST /robots"]
    assert {"ok", "invalid"} <= {e["outcome"] for e in posts}, posts


def test_a_viewer_sees_the_robots_page_with_every_control_disabled(running_lab):
    api = f"{running_lab.url}/api/v1"
    viewer = (f"rita_{secrets.token_hex(3)}", "rita-reads-the-registry-only")
    created = http.post(f"{api}/users", json={"username": viewer[0], "password": viewer[1], "role": "viewer",
                                              "sites": ["living_lab"]}, timeout=10)
    assert created.is_success, created.text
    (shot,) = fresh_screenshots("robots-viewer.png")
    try:
        # the API refuses a viewer's registration; the page offers it disabled
        token = running_lab.login(*viewer)["access_token"]
        refused = http.post(f"{api}/robots", headers={"Authorization": f"Bearer {token}"}, timeout=10, json={
            "id": f"tb4_2_{secrets.token_hex(3)}", "adapter": "nav2",
            "model": {"name": "turtlebot4", "kind": "patrol", "radius": 0.2, "max_speed": 0.3,
                      "battery_capacity_wh": 90}})
        assert refused.status_code == 403, refused.text
        run = run_e2e("robots.e2e.mjs", running_lab, 120, user=viewer, args=("viewer",))
    finally:
        http.post(f"{api}/users/{viewer[0]}/disable", timeout=10)
    print(run.stdout)
    assert shot.stat().st_size > 10_000
