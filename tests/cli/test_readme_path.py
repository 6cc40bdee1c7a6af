"""The README's path, run as written (issue 18 item 1): the commands of its ``<!-- readme-path -->`` block, in
order, in a fresh folder. Two lines are substituted, as the README says: ``defipm data download`` (it needs the
network) by the same coins' bars from the shared data folder, cut at the line's ``--start``; and ``defipm hl-sim
sim`` by the same local exchange started in-process on a free port (``hl.toml``'s ``base_url`` pointed at it).
Every other line runs through the real command line, against real SQLite and the real Hyperliquid SDK."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defipm.cli import app

pytest.importorskip("hyperliquid")
pytest.importorskip("pandas")
eth_account = pytest.importorskip("eth_account")
from defipm.venues.hyperliquid.sim import LocalExchange  # noqa: E402

README = Path(__file__).parents[2] / "README.md"


def readme_commands() -> list[str]:
    """The command lines of the README's readme-path block, comments removed."""
    text = README.read_text()
    block = text[text.index("<!-- readme-path -->") :]
    start = block.index("```bash\n") + len("```bash\n")
    body = block[start : block.index("\n```", start)]
    lines = [re.split(r"\s+#\s", line, maxsplit=1)[0].strip() for line in body.splitlines()]
    return [line for line in lines if line]


def substitute_download(args: list[str], shared_prices: Path) -> None:
    """``defipm data download --symbols A,B --start D``: the shared daily bars of those coins from D on."""
    options = dict(zip(args[2::2], args[3::2], strict=False))
    out = Path(options.get("--out", "data/hyperliquid"))
    out.mkdir(parents=True)
    for coin in options["--symbols"].split(","):
        lines = (shared_prices / "daily" / f"{coin}.csv").read_text().splitlines()
        kept = [line for line in lines[1:] if line[:10] >= options["--start"]]
        (out / f"{coin}.csv").write_text("\n".join([lines[0], *kept]) + "\n")


def test_the_readme_path_runs_as_written(tmp_path: Path, shared_prices: Path, monkeypatch: pytest.MonkeyPatch):
    commands = readme_commands()
    assert [c.split()[1] for c in commands if c.startswith("defipm")][:3] == ["init", "data", "backtest"]
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    exchange = None
    printed: dict[str, str] = {}  # what `defipm hl-sim account` printed: the address and key the README uses
    try:
        for line in commands:
            if "0xYOUR_" in line:
                line = line.replace("0xYOUR_ADDRESS", printed["address"]).replace("0xYOUR_KEY", printed["key"])
            words = shlex.split(line.removesuffix("&"))
            if words[0] == "export":
                monkeypatch.setenv(*words[1].split("=", 1))
                continue
            env = dict(w.split("=", 1) for w in words if re.fullmatch(r"[A-Z_]+=\S+", w))
            args = words[len(env) + 1 :]  # after the variables and "defipm"
            if args[:2] == ["data", "download"]:
                substitute_download(args, shared_prices)
                continue
            if args[:2] == ["hl-sim", "sim"]:
                exchange = LocalExchange(accounts={printed["address"]: 100_000}).__enter__()
                hl = Path("hl.toml")
                hl.write_text(hl.read_text().replace("http://127.0.0.1:3001", exchange.url))
                continue
            result = runner.invoke(app, args, env={"COLUMNS": "200", **env})
            assert result.exit_code == 0, f"{line}\n{result.output}"
            if args[:2] == ["hl-sim", "account"]:
                printed = dict(row.split() for row in result.stdout.splitlines())
                assert eth_account.Account.from_key(printed["key"]).address == printed["address"]
                assert "test only" in result.stderr
            if args[0] == "rebalance":
                assert "traded" in result.output or "filled" in result.output, result.output
    finally:
        if exchange is not None:
            exchange.__exit__(None, None, None)
    reports = list(Path("reports").iterdir())
    assert len(reports) == 1 and (reports[0] / "report.html").is_file()
    assert exchange is not None  # the path reached the exchange


def test_data_download_writes_what_the_backtest_reads(tmp_path: Path):
    """The real ``defipm data download`` against the local exchange's candles and funding (no network)."""
    with LocalExchange(accounts={}) as ex:
        result = CliRunner().invoke(
            app,
            ["data", "download", "--symbols", "BTC,ETH", "--interval", "1d", "--start", "2025-01-01",
             "--end", "2025-03-01", "--out", str(tmp_path / "hl"), "--base-url", ex.url],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        unknown = CliRunner().invoke(
            app, ["data", "download", "--symbols", "BTC,NOPE", "--out", str(tmp_path / "x"), "--base-url", ex.url]
        )
    assert "BTC: " in result.output and (tmp_path / "hl" / "funding" / "ETH.csv").is_file()
    assert unknown.exit_code == 1 and "NOPE not listed on Hyperliquid" in unknown.output
    assert not (tmp_path / "x").exists()  # refused before anything was written, and the folder it made removed
    from defipm.data import load_prices

    panel = load_prices(tmp_path / "hl", ["BTC", "ETH"], cache=False)
    assert set(panel.symbols) == {"BTC", "ETH"}
    shutil.rmtree(tmp_path / "hl")


def test_a_failed_download_names_its_option_and_leaves_nothing_new(tmp_path: Path):
    import socket

    with socket.socket() as closed:  # a loopback port nothing listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    out = tmp_path / "data" / "hyperliquid"
    result = CliRunner().invoke(app, ["data", "download", "--symbols", "BTC", "--out", str(out), "--base-url", url])
    assert result.exit_code == 1, result.output
    assert "--base-url" in result.output and "[venue.params]" not in result.output
    assert list(tmp_path.iterdir()) == []  # neither data/ nor data/hyperliquid/ is left behind


@pytest.mark.parametrize("make", [False, True])
def test_backtest_on_a_missing_or_empty_folder_says_how_to_download_bars(tmp_path: Path, make: bool):
    folder = tmp_path / "bars"
    if make:
        folder.mkdir()
    result = CliRunner().invoke(app, ["backtest", "--data", str(folder)])
    assert result.exit_code != 0
    assert f"defipm data download --out {folder}" in " ".join(result.output.split()), result.output
