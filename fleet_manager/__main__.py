"""`python -m fleet_manager [--host H] [--port P]`: run the fleet manager service."""

from __future__ import annotations

import argparse
import logging
import socket
import sys

import uvicorn

from fleet_manager import gc_policy
from fleet_manager.app import create_app
from fleet_manager.auth.startup import StartupError, check_secret
from fleet_manager.file_modes import restrict
from fleet_manager.http_guard import guarded_http
from fleet_manager.log_limits import limit_root_repeats, limit_uvicorn_repeats
from fleet_manager.log_redaction import redact_root_handlers, uvicorn_log_config
from fleet_manager.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m fleet_manager", description="LabFleet fleet manager")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--reuse-port", action="store_true",
                        help="share the port with other processes (SO_REUSEPORT): `labfleet up --replicas N`")
    parser.add_argument("--http", choices=("httptools", "h11"), default="httptools",
                        help="the HTTP/1.1 parser: httptools (C, the default) or h11 (pure Python)")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    redact_root_handlers()  # no token in any log line (fleet_manager/log_redaction.py)
    limit_root_repeats()  # no warning repeated without end (fleet_manager/log_limits.py)
    settings = Settings()
    try:
        check_secret(settings)
    except StartupError as exc:
        parser.exit(2, f"error: {exc}\n")
    gc_policy.install()  # start-up objects out of the collector's sight once the lab runs (gc_policy.py)
    restrict(settings)  # umask 0o077, the data directory 0700, the database 0600 (fleet_manager/file_modes.py)
    http = guarded_http(args.http, settings.header_timeout_s, settings.max_connections_per_address,
                        settings.proxy_list())
    config = uvicorn.Config(create_app(settings), host=args.host, port=args.port, log_level=args.log_level,
                            loop="uvloop",  # (the telemetry fan-out and every request: libuv's loop, not asyncio's own)
                            ws_max_size=1_000_000, ws_per_message_deflate=False, timeout_graceful_shutdown=5,
                            # (uvicorn would believe X-Forwarded-For from loopback; LABFLEET_TRUSTED_PROXIES)
                            proxy_headers=False,
                            access_log=False, log_config=limit_uvicorn_repeats(uvicorn_log_config()),
                            http=http)  # slow and idle clients closed, connections per address limited (http_guard.py)
    server = uvicorn.Server(config)
    if not args.reuse_port:
        server.run()
        sys.exit(0 if server.started else 3)  # (as uvicorn.run: 3 when the app did not start)
    # the leader candidates and the replicas of `labfleet up --replicas N` share one port: the kernel spreads the
    # connections among them
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    server.run(sockets=[sock])
    sys.exit(0 if server.started else 3)


if __name__ == "__main__":
    main()
