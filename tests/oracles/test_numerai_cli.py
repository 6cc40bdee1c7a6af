"""``defipm numerai download`` and ``show`` through typer's runner, against the local fake Numerai server."""

from __future__ import annotations

import io
from datetime import date

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("numerapi")

from typer.testing import CliRunner  # noqa: E402

from defipm.oracles.numerai_cli import app  # noqa: E402
from defipm.testing.numerai import FakeNumeraiServer, synthetic_meta_model  # noqa: E402

DATASET = "crypto/v1.0/historical_meta_models.parquet"
runner = CliRunner()


def flat(output: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(output.split())


@pytest.fixture
def frame() -> pd.DataFrame:
    return synthetic_meta_model(["BTC", "ETH", "SOL", "PEPE", "RNDR", "XRP"], date(2024, 1, 1), 10, seed=3)


def test_download_then_cached(tmp_path, frame):
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    with FakeNumeraiServer({DATASET: buf.getvalue()}) as server:
        args = ["download", "--cache-dir", str(tmp_path), "--api-url", server.url]
        first = runner.invoke(app, args)
        assert first.exit_code == 0, first.output
        assert f"{DATASET}: downloaded, changed" in flat(first.output)
        assert "rows 60 symbols 6 dates 2024-01-01 .. 2024-01-10" in flat(first.output)
        assert "warning: " in flat(first.output) and "stale meta-model data" in flat(first.output)
        second = runner.invoke(app, args)
        assert f"{DATASET}: cached" in flat(second.output)
        assert server.downloads == [DATASET]


def test_download_error_exits_1(tmp_path):
    with FakeNumeraiServer({}) as server:
        result = runner.invoke(app, ["download", "--cache-dir", str(tmp_path), "--api-url", server.url])
    assert result.exit_code == 1
    assert "none of the known meta-model datasets" in flat(result.output)


def test_show_one_dates_picks(tmp_path, frame):
    path = tmp_path / "mm.csv"
    frame.to_csv(path, index=False)
    result = runner.invoke(
        app, ["show", "--file", str(path), "--date", "2024-01-05", "--n", "2", "--venue", "hyperliquid"]
    )
    assert result.exit_code == 0, result.output
    scores = (
        frame[frame["date"] == "2024-01-05"]
        .set_index("symbol")["meta_model"]
        .rename({"PEPE": "kPEPE", "RNDR": "RENDER"})
    )
    ranked = scores.sort_values(ascending=False).index.tolist()
    lines = [ln for ln in result.output.splitlines() if "long" in ln or "short" in ln]
    assert [ln.split("│")[2].strip() for ln in lines] == ranked[:2] + ranked[-2:]  # longs, then shorts
    assert "2024-01-05" in result.output


def test_show_shrinks_and_notes(tmp_path, frame):
    path = tmp_path / "mm.csv"
    frame.to_csv(path, index=False)
    result = runner.invoke(app, ["show", "--file", str(path), "--n", "3", "--universe", "BTC,ETH,SOL"])
    assert result.exit_code == 0, result.output
    assert "N shrunk from 3 to 1" in flat(result.output)


def test_show_unknown_date(tmp_path, frame):
    path = tmp_path / "mm.csv"
    frame.to_csv(path, index=False)
    result = runner.invoke(app, ["show", "--file", str(path), "--date", "2023-01-01"])
    assert result.exit_code == 1
    assert "no rows dated 2023-01-01" in flat(result.output)
