"""Every part of the command line refuses the same way: one line ``error: ...`` on stderr, exit code 1, stdout
free of it, no traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defipm.cli import app


def _busy_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["rebalance", "-c", "{tmp}/missing.toml"], "missing.toml"),
        (["backtest", "--data", "{tmp}/no-such-folder"], "no-such-folder"),
        (["classify", "--data", "{tmp}", "--format", "xls"], "--format 'xls'"),
        (["arb", "scan", "--snapshot", "{tmp}/none.json"], "none.json"),
        (["arb", "demo", "--scenario", "nope"], "unknown scenario 'nope'"),
        (["hl-sim", "sim", "--port", "{port}"], "cannot serve on 127.0.0.1"),
    ],
)
def test_every_command_refuses_with_one_error_line(tmp_path: Path, args: list[str], named: str):
    busy = _busy_port()
    try:
        port = str(busy.getsockname()[1])
        result = CliRunner().invoke(app, [a.format(tmp=tmp_path, port=port) for a in args])
    finally:
        busy.close()
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and named in errors[0], result.stderr
    assert "error" not in result.stdout and "Traceback" not in result.stderr
