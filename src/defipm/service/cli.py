"""``defipm serve``: the service (JSON API, live events, metrics, dashboard) with uvicorn, on loopback by default.

The database is ``--db``, else the config's (``--config``, default ``defipm.toml`` when it exists; environment
overrides apply), else ``sqlite:///defipm.db``. Binding anything but a loopback address needs ``--allow-remote``
and prints a warning: the read API and the dashboard have no login (writes need the token either way). The token's
file is named at start; the token itself is never printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from defipm.cli_errors import CliConsole, fail
from defipm.config import DEFAULT_CONFIG, load_settings
from defipm.core.errors import DefipmError
from defipm.core.redaction import redact_url

__all__ = ["serve"]

console = CliConsole(stderr=True)


def _database(db: str | None, config: Path) -> str:
    if db:
        return db
    return load_settings(config, required=config != DEFAULT_CONFIG).database


def _check_port_free(host: str, port: int) -> None:
    """Refuse a ``host``:``port`` another process listens on, naming the fix (uvicorn would log the error and exit
    with 3, the code of a halted trading run)."""
    import socket

    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise fail(
            f"cannot listen on {host}:{port} ({exc.strerror}): stop what uses it, or give another --port"
        ) from None


def serve(
    db: Annotated[str | None, typer.Option("--db", help="Store URL (default: the config's database).")] = None,
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Config file whose database to serve.")
    ] = DEFAULT_CONFIG,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback unless --allow-remote).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a non-loopback --host (the pages have no login).")
    ] = False,
    reports: Annotated[Path, typer.Option(help="Folder of backtest report directories.")] = Path("reports"),
    token_file: Annotated[
        Path | None, typer.Option(help="Bearer token file (default ~/.config/defipm/service-token; made 0600).")
    ] = None,
    poll_interval: Annotated[
        float, typer.Option(min=0.05, max=10.0, help="Seconds between polls of the store for live events.")
    ] = 0.25,
) -> None:
    """Serve the JSON API, live events, /metrics and the dashboard over the store."""
    import uvicorn

    from defipm.service.access_token import default_token_file
    from defipm.service.app import ServiceConfig, create_app
    from defipm.service.security import is_loopback

    if not is_loopback(host) and not allow_remote:
        raise fail(f"--host {host} is not a loopback address: add --allow-remote to serve it", exit_code=2)
    try:
        database = _database(db, config)
        app = create_app(ServiceConfig(database, token_file or default_token_file(), reports, poll_interval))
    except DefipmError as exc:
        raise fail(exc, db) from None
    token = app.state.token
    if not is_loopback(host):
        console.print(
            f"[bold yellow]warning:[/] listening on {escape(host)}: anyone who reaches this address reads every run "
            "(writes still need the token). Put it behind TLS and a login, or bind 127.0.0.1."
        )
    _check_port_free(host, port)
    made = "created" if token.created else "read"
    console.print(f"store {escape(redact_url(database))}; write token {made} in {escape(str(token.path))} (not shown)")
    console.print(f"dashboard http://{escape(host)}:{port}/  API http://{escape(host)}:{port}/docs")
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
