"""The Numerai meta-model source: numerapi's real code path against a local server, the cache, file validation."""

from __future__ import annotations

import io
import socket
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("numerapi")
pytest.importorskip("pyarrow")

from defipm.core.errors import DataError  # noqa: E402
from defipm.data.numerai import (  # noqa: E402
    MetaModelHistory,
    NumeraiCryptoSource,
    check_not_stale,
    read_meta_model_file,
)
from defipm.testing.numerai import FakeNumeraiServer, synthetic_meta_model  # noqa: E402

V1_PARQUET = "crypto/v1.0/historical_meta_models.parquet"
V1_CSV = "crypto/v1.0/historical_meta_models.csv"
V2_PARQUET = "crypto/v2.0/historical_meta_models.parquet"
SYMBOLS = ["BTC", "ETH", "SOL", "XRP", "DOGE", "ADA"]
NOW = datetime(2024, 3, 1, 12, 0)


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


@pytest.fixture
def frame() -> pd.DataFrame:
    return synthetic_meta_model(SYMBOLS, date(2024, 1, 1), 30, seed=1)


@pytest.fixture
def server(frame: pd.DataFrame):
    files = {V1_PARQUET: parquet_bytes(frame), V1_CSV: frame.to_csv(index=False).encode()}
    with FakeNumeraiServer(files) as srv:
        yield srv


def source(server: FakeNumeraiServer, tmp_path: Path, **kwargs) -> NumeraiCryptoSource:
    return NumeraiCryptoSource(tmp_path / "cache", api_url=server.url, **kwargs)


# --------------------------------------------------------------------------------------------- numerapi path


def test_list_datasets_goes_through_numerapi_graphql(server, tmp_path):
    assert source(server, tmp_path).list_datasets() == [V1_CSV, V1_PARQUET]
    (call,) = server.graphql
    assert "listDatasets" in call["query"]
    assert call["variables"]["tournament"] == 12  # CryptoAPI's tournament id


def test_default_dataset_is_checked_against_list_datasets(server, tmp_path):
    assert source(server, tmp_path).resolve_dataset() == V1_PARQUET
    server.files[V2_PARQUET] = server.files[V1_PARQUET]
    assert source(server, tmp_path).resolve_dataset() == V2_PARQUET


def test_configured_dataset_must_be_offered(server, tmp_path):
    assert source(server, tmp_path, dataset=V1_CSV).resolve_dataset() == V1_CSV
    with pytest.raises(DataError, match=r"does not offer dataset 'crypto/v9.parquet'.*historical_meta_models"):
        source(server, tmp_path, dataset="crypto/v9.parquet").resolve_dataset()


def test_no_known_default_dataset_is_an_error(tmp_path):
    with (
        FakeNumeraiServer({"crypto/v3.0/other.parquet": b"x"}) as srv,
        pytest.raises(DataError, match="none of the known meta-model datasets"),
    ):
        source(srv, tmp_path).resolve_dataset()


def test_fetch_downloads_the_file_url_and_loads(server, tmp_path, frame):
    src = source(server, tmp_path)
    status = src.fetch(now=NOW)
    assert status.downloaded and status.changed and status.dataset == V1_PARQUET
    assert status.path == tmp_path / "cache" / V1_PARQUET
    assert server.downloads == [V1_PARQUET]
    assert any("dataset(" in c["query"] and c["variables"]["filename"] == V1_PARQUET for c in server.graphql)
    history = src.load(now=NOW)
    assert len(history) == len(frame)
    assert history.first_date == datetime(2024, 1, 1) and history.last_date == datetime(2024, 1, 30)


def test_csv_dataset_downloads_too(server, tmp_path, frame):
    history = source(server, tmp_path, dataset=V1_CSV).load(now=NOW)
    assert len(history) == len(frame)


def test_fresh_cache_is_reused_without_network(server, tmp_path):
    src = source(server, tmp_path, max_age=timedelta(hours=6))
    src.fetch(now=NOW)
    calls = len(server.graphql)
    status = src.fetch(now=NOW + timedelta(hours=5))
    assert not status.downloaded
    assert len(server.graphql) == calls and server.downloads == [V1_PARQUET]


def test_old_cache_is_checked_again_and_unchanged_content_kept(server, tmp_path):
    src = source(server, tmp_path, max_age=timedelta(hours=6))
    first = src.fetch(now=NOW)
    again = src.fetch(now=NOW + timedelta(hours=7))
    assert again.downloaded and not again.changed and again.sha256 == first.sha256
    assert len(server.downloads) == 2
    assert not src.fetch(now=NOW + timedelta(hours=12)).downloaded  # checked 5 h ago


def test_same_size_new_content_replaces_the_cache(server, tmp_path, frame):
    """numerapi's download_file skips a file whose size matches; the cache must not."""
    old = frame.to_csv(index=False, float_format="%.6f").encode()
    server.files[V1_CSV] = old
    src = source(server, tmp_path, dataset=V1_CSV, max_age=timedelta(hours=1))
    first = src.fetch(now=NOW)
    edited = frame.copy()
    edited.loc[0, "meta_model"] = 0.5 if frame.loc[0, "meta_model"] != 0.5 else 0.25
    new = edited.to_csv(index=False, float_format="%.6f").encode()
    assert len(new) == len(old) and new != old
    server.files[V1_CSV] = new
    status = src.fetch(now=NOW + timedelta(hours=2))
    assert status.downloaded and status.changed and status.sha256 != first.sha256
    assert status.path.read_bytes() == new


def test_damaged_cache_is_downloaded_again(server, tmp_path):
    src = source(server, tmp_path)
    status = src.fetch(now=NOW)
    status.path.write_bytes(b"garbage")
    again = src.fetch(now=NOW + timedelta(minutes=1))
    assert again.downloaded and again.changed
    assert MetaModelHistory.from_file(again.path)


def test_force_downloads_even_when_fresh(server, tmp_path):
    src = source(server, tmp_path)
    src.fetch(now=NOW)
    assert src.fetch(now=NOW, force=True).downloaded


def test_bad_download_keeps_the_previous_cache(server, tmp_path):
    src = source(server, tmp_path, dataset=V1_CSV, max_age=timedelta(0))
    good = src.fetch(now=NOW)
    before = good.path.read_bytes()
    server.files[V1_CSV] = b"when,ticker,score\n2024-01-01,BTC,0.5\n"
    with pytest.raises(DataError, match="missing column"):
        src.fetch(now=NOW + timedelta(hours=1))
    assert good.path.read_bytes() == before
    assert not list(good.path.parent.glob(".download-*"))


def test_http_error_becomes_data_error(server, tmp_path):
    server.state.fail_graphql_with = 403  # (5xx would make numerapi sleep and retry)
    with pytest.raises(DataError, match="list_datasets failed"):
        source(server, tmp_path).fetch(now=NOW)


def test_graphql_error_becomes_data_error(server, tmp_path):
    server.state.graphql_errors = ["rate limited"]
    with pytest.raises(DataError, match="rate limited"):
        source(server, tmp_path).list_datasets()


def test_unreachable_api_becomes_data_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = NumeraiCryptoSource(tmp_path, api_url=f"http://127.0.0.1:{port}")
    with pytest.raises(DataError, match="network"):
        src.fetch(now=NOW)


def test_api_url_is_restored_after_a_call(server, tmp_path):
    from numerapi import base_api

    before = base_api.API_TOURNAMENT_URL
    source(server, tmp_path).list_datasets()
    assert before == base_api.API_TOURNAMENT_URL


# --------------------------------------------------------------------------------------------- local files


def test_csv_and_parquet_read_the_same(tmp_path, frame):
    csv, pq = tmp_path / "m.csv", tmp_path / "m.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(pq, index=False)
    a, b = MetaModelHistory.from_file(csv), MetaModelHistory.from_file(pq)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.dates == b.dates and len(a.dates) == 30
    assert list(a.frame.columns) == ["date", "symbol", "meta_model"]


def test_extra_columns_are_ignored_and_rows_sorted(frame):
    shuffled = frame.sample(frac=1.0, random_state=3).assign(era="x")
    history = MetaModelHistory.from_frame(shuffled)
    assert history.frame[["date", "symbol"]].equals(
        history.frame[["date", "symbol"]].sort_values(["date", "symbol"]).reset_index(drop=True)
    )


def test_integer_and_datetime_dates(frame):
    as_int = frame.assign(date=frame["date"].str.replace("-", "").astype(int))
    as_dt = frame.assign(date=pd.to_datetime(frame["date"]).dt.tz_localize("UTC"))
    assert MetaModelHistory.from_frame(as_int).dates == MetaModelHistory.from_frame(as_dt).dates


def test_empty_file(tmp_path):
    p = tmp_path / "m.csv"
    p.write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        read_meta_model_file(p)


def test_header_only_file(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("date,symbol,meta_model\n")
    with pytest.raises(DataError, match="no rows"):
        MetaModelHistory.from_file(p)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"not found: .*nope\.parquet \(looked in "):
        MetaModelHistory.from_file(tmp_path / "nope.parquet")


def test_unknown_format(tmp_path):
    p = tmp_path / "m.json"
    p.write_text("{}")
    with pytest.raises(DataError, match="unknown format"):
        MetaModelHistory.from_file(p)


def test_other_schema_lists_what_is_missing(frame):
    other = frame.rename(columns={"meta_model": "prediction", "symbol": "ticker"})
    with pytest.raises(DataError) as err:
        MetaModelHistory.from_frame(other, "f.csv")
    msg = str(err.value)
    assert "missing column(s) symbol, meta_model" in msg and "found date, ticker, prediction" in msg


def test_duplicated_date_symbol_rows(frame):
    dup = pd.concat([frame, frame.iloc[[7]]])
    with pytest.raises(DataError, match=r"share a \(date, symbol\).*\(2024-01-02, ETH\)"):
        MetaModelHistory.from_frame(dup)


@pytest.mark.parametrize("bad", [1.5, -0.1, float("inf")])
def test_scores_outside_unit_interval(frame, bad):
    f = frame.copy()
    f.loc[3, "meta_model"] = bad
    with pytest.raises(DataError, match=r"outside \[0, 1\]"):
        MetaModelHistory.from_frame(f)


def test_non_numeric_scores(frame):
    f = frame.astype({"meta_model": object})
    f.loc[3, "meta_model"] = "high"
    with pytest.raises(DataError, match="row 5: meta_model 'high' is not a number"):
        MetaModelHistory.from_frame(f)


def test_bad_dates_and_empty_symbols(frame):
    f = frame.copy()
    f.loc[2, "date"] = "yesterday"
    with pytest.raises(DataError, match=r"row 4: date 'yesterday' is not a date"):
        MetaModelHistory.from_frame(f)
    g = frame.copy()
    g.loc[2, "symbol"] = " "
    with pytest.raises(DataError, match="empty symbol"):
        MetaModelHistory.from_frame(g)


def test_empty_scores_are_dropped_with_a_note(frame):
    f = frame.copy()
    f.loc[[1, 2], "meta_model"] = float("nan")
    history = MetaModelHistory.from_frame(f, "f")
    assert len(history) == len(frame) - 2
    assert history.notes == ("f: dropped 2 row(s) with an empty meta_model score",)
    with pytest.raises(DataError, match="every meta_model score is empty"):
        MetaModelHistory.from_frame(frame.assign(meta_model=float("nan")))


def test_stale_history(frame):
    history = MetaModelHistory.from_frame(frame, "f")
    check_not_stale(history, datetime(2024, 2, 1, tzinfo=UTC), timedelta(days=3))
    with pytest.raises(DataError, match="stale meta-model data: latest date 2024-01-30"):
        check_not_stale(history, datetime(2024, 2, 5), timedelta(days=3))


def test_load_reuses_the_parsed_table_while_the_file_is_unchanged(server, tmp_path, frame):
    src = source(server, tmp_path, max_age=timedelta(0))
    first = src.load(now=NOW)
    assert src.load(now=NOW + timedelta(hours=1)) is first  # checked again, same bytes
    server.files[V1_PARQUET] = parquet_bytes(frame.iloc[:-6])
    assert src.load(now=NOW + timedelta(hours=2)).last_date == datetime(2024, 1, 29)
