"""What the `labfleet` commands share: the --api option and how a command fails."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

ApiOpt = Annotated[str | None, typer.Option("--api", help="fleet manager URL [env LABFLEET_API_URL]")]


def fail(message: str, code: int = 1) -> NoReturn:
    """`error: MESSAGE` on stderr, and exit with `code`."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
