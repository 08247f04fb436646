"""The fleet manager's one settings object, read from LABFLEET_* environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JWT_SECRET = "labfleet-insecure-default-secret"  # refused at start-up outside demo mode


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LABFLEET_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    site: str = "living_lab"
    fleet: str = Field(default="", pattern=r"^[a-z0-9_]*$",
                       description="a fleet variant of the site: fleet.<name>.yaml instead of fleet.yaml")
    sites_dir: Path = REPO_ROOT / "sim_worlds"
    missions_dir: Path = REPO_ROOT / "missions"
    data_dir: Path = REPO_ROOT / "var"
    database_url: str = ""  # default: SQLite file under data_dir
    web_dir: Path = REPO_ROOT / "web_console" / "dist"
    ros_enabled: bool = True
    ros_discovery: str = Field(
        default="localhost", pattern=r"^(localhost|subnet|server:[A-Za-z0-9_.-]+:[0-9]{1,5})$",
        description="how ROS 2 nodes find each other: localhost (the simulated lab, every test) | subnet (real "
                    "robots on the LAN) | server:HOST:PORT (a Fast DDS discovery server)")
    use_sim_time: bool = False
    mqtt_url: str = Field(default="mqtt://127.0.0.1:1883", pattern=r"^mqtts?://[^\s/:]+(:[0-9]{1,5})?/?$",
                          description="the MQTT broker of the VDA 5050 vehicles (mqtts:// for TLS)")
    mqtt_username: str | None = Field(default=None, description="MQTT username (with mqtt_password)")
    mqtt_password: SecretStr | None = Field(default=None, description="MQTT password")
    mqtt_ca_file: Path | None = Field(default=None, description="TLS: the CA certificate file of the broker")
    mqtt_cert_file: Path | None = Field(default=None, description="TLS: this client's certificate (mutual TLS)")
    mqtt_key_file: Path | None = Field(default=None, description="TLS: this client's private key (mutual TLS)")
    command_key_file: Path | None = Field(default=None, description="the lab's robot command key (a 0600 file; "
                                          "`labfleet up` makes one per run): commands are signed with it")
    command_key: SecretStr | None = Field(default=None, description="the command key itself, hex (instead of "
                                          "command_key_file)")
    vda5050_interface: str = Field(default="uagv", pattern=r"^[A-Za-z0-9_-]+$",
                                   description="VDA 5050 topics: <interface>/v2/<manufacturer>/<serial>/<topic>")
    vda5050_enabled: bool = Field(default=True, description="run the VDA 5050 adapter (MQTT) when vda5050 robots "
                                                            "are registered")
    vda5050_factsheet_wait_s: float = Field(default=10.0, gt=0, le=120, description="how long registering a "
                                            "vda5050 robot whose model leaves fields out waits for its factsheet")
    robot_timeout_s: float = Field(default=5.0, gt=0, description="robot is offline after this long without state")
    dispatch_period_s: float = Field(default=1.0, gt=0)
    offline_policy: Literal["fail", "requeue"] = Field(
        default="fail", description="what happens to the mission of a robot that stops reporting")
    charge_threshold_pct: float = Field(default=30.0, ge=0, le=100,
                                        description="idle robots below this battery go to a free charger")
    battery_reserve_pct: float = Field(default=10.0, ge=0, le=100,
                                       description="battery a robot must still have when back at a charger")
    auto_charge: bool = True
    alert_battery_pct: float = Field(default=15.0, ge=0, le=100,
                                     description="a robot not charging below this battery raises an alert")
    max_request_bytes: int = Field(default=1_000_000, ge=1, description="largest HTTP request body (then 413)")
    max_ws_message_bytes: int = Field(default=65_536, ge=1,
                                      description="largest websocket message a client may send (then closed, 1009)")
    seed: int | None = Field(default=None, description="the simulator's seed, when known (stored in recordings)")
    recording_enabled: bool = Field(default=True, description="record every mission run (MCAP)")
    recordings_dir: Path | None = Field(default=None, description="default: <data_dir>/recordings")
    recording_max_bytes: int = Field(default=5 * 1024**3, ge=0,
                                     description="oldest recordings deleted beyond this total (0: no limit)")
    recording_max_age_days: float = Field(default=90.0, ge=0,
                                          description="recordings deleted after this many days (0: kept)")
    recording_scan_hz: float = Field(default=2.0, gt=0, le=100, description="scans kept per robot per second")
    telemetry_hz: float = Field(default=30.0, ge=1, le=100,
                                description="robot states go out to the live streams at most this often (one frame "
                                            "each): a state waits at most one period")
    max_websockets_per_user: int = Field(default=50, ge=1, le=100_000,
                                         description="live streams one user may have open (then closed, 4429)")
    replay_workers: int = Field(default=1, ge=1, le=64, description="re-simulations run at once per site")
    replay_queue_per_user: int = Field(default=3, ge=1, le=1000,
                                       description="replays a user may have waiting or running")
    replay_queue_per_site: int = Field(default=20, ge=1, le=10_000,
                                       description="replays waiting or running at a site")
    demo: bool = Field(default=False, description="demo mode: a generated secret and admin (`labfleet up --demo`)")
    jwt_secret: SecretStr = Field(default=SecretStr(DEFAULT_JWT_SECRET),
                                  description="signs the access and refresh tokens (HS256, at least 32 characters)")
    access_token_minutes: float = Field(default=15.0, gt=0, le=24 * 60)
    refresh_token_days: float = Field(default=7.0, gt=0, le=365)
    admin_password: SecretStr | None = Field(
        default=None, description="at start-up, with no users yet, user admin is created with this password")
    login_attempts_per_minute: int = Field(default=10, ge=1,
                                           description="failed logins per username and client address, then 429")
    header_timeout_s: float = Field(default=10.0, gt=0, le=300, description="a connection whose request head is not "
                                    "complete this long after it opened (or after its last response) is closed")
    max_connections_per_address: int = Field(default=200, ge=1, description="open connections one client address "
                                             "may hold; a connection over it is closed at once")
    max_requests_per_user: int = Field(default=32, ge=1, le=100_000, description="HTTP requests one signed-in "
                                       "user may have in progress at once in this process (then 429)")
    role: Literal["single", "leader", "replica"] = Field(
        default="single", description="single: the whole fleet manager in this process (no election); leader: a "
        "candidate for the site's leader (PostgreSQL advisory lock), a standby serving as a replica until it wins; "
        "replica: HTTP and websocket only, writes forwarded to the leader over NATS (docs/architecture.md)")
    nats_url: str = Field(default="nats://127.0.0.1:4222", pattern=r"^(nats|tls)://[^\s/]+/?$",
                          description="the NATS server between the site leader and its replicas")
    nats_prefix: str = Field(default="labfleet", pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
                             description="the first tokens of every NATS subject of this lab")
    forward_timeout_s: float = Field(default=15.0, gt=0, le=300,
                                     description="a replica waits this long for the leader's answer to a write")
    trusted_proxies: str = Field(default="", description="comma-separated addresses or CIDRs of reverse proxies whose "
                                 "X-Forwarded-For / X-Forwarded-Proto are believed (none: the socket's address)")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for item in filter(None, (v.strip() for v in value.split(","))):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies: {item!r} is not an address or a CIDR network") from None
        return value

    def proxy_list(self) -> list[str]:
        return [v.strip() for v in self.trusted_proxies.split(",") if v.strip()]

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'labfleet.db'}"
        if self.recordings_dir is None:
            self.recordings_dir = self.data_dir / "recordings"
        if self.role == "replica" and self.database_url.startswith("sqlite"):
            raise ValueError("LABFLEET_ROLE=replica needs a shared PostgreSQL database: set LABFLEET_DATABASE_URL "
                             "(SQLite is for one process)")
        if self.environment == "production" and self.database_url.startswith("sqlite"):
            raise ValueError("LABFLEET_DATABASE_URL must name a PostgreSQL database in production")
        return self

    @property
    def clustered(self) -> bool:
        """An elected leader or a replica (PostgreSQL and NATS); False: one process does everything."""
        return self.role != "single" and not self.database_url.startswith("sqlite")

    @property
    def site_dir(self) -> Path:
        return self.sites_dir / self.site

    @property
    def fleet_file(self) -> Path:
        return self.site_dir / (f"fleet.{self.fleet}.yaml" if self.fleet else "fleet.yaml")
