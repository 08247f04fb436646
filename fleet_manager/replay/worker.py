"""`python -m fleet_manager.replay.worker --sites-dir DIR REPLAY_ID`: run one stored replay (service.execute_replay)
in its own process and exit; the fleet manager starts it (replay/queue.py). The database URL comes from the
environment (LABFLEET_REPLAY_DATABASE_URL, else LABFLEET_DATABASE_URL), not the command line, which every local
user can read; `--database-url` remains for a run by hand."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from fleet_manager.db.engine import make_engine
from fleet_manager.replay.queue import DATABASE_ENV
from fleet_manager.replay.service import execute_replay


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url",
                        default=os.environ.get(DATABASE_ENV) or os.environ.get("LABFLEET_DATABASE_URL"))
    parser.add_argument("--sites-dir", type=Path, required=True)
    parser.add_argument("replay_id", type=int)
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error(f"no database: set {DATABASE_ENV}")
    logging.basicConfig(level=logging.WARNING, format="labfleet replay %(levelname)s: %(message)s")
    engine = make_engine(args.database_url)
    try:
        result = execute_replay(engine, args.replay_id, args.sites_dir)
    finally:
        engine.dispose()
    return 0 if result.status == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
