"""The shipped tag table covers the real universes; malformed tables and settings are errors that name the line or
key; a table naming an unknown token is a warning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from defipm.classify import CATEGORIES, Classifier, ScreenConfig, load_tag_file, shipped_tags
from defipm.classify.config import parse_config
from defipm.classify.tags import read_tag_table, tags_from_mapping
from defipm.core.errors import ConfigError
from defipm.data.contracts import VENUE_BUNDLES, contract_of, read_contracts
from defipm.data.view import MarketView
from defipm.oracles.symbols import HYPERLIQUID_KILO


def test_every_wide_panel_contract_is_tagged_through_its_manifest(wide_folder: Path):
    folder = wide_folder
    manifest = read_contracts(folder)
    assert manifest is not None and len(manifest.contracts) == 329
    table = shipped_tags()
    untagged = [s for s in manifest.contracts if table.categories(s, contract_of(s, manifest).asset) is None]
    assert untagged == []
    # and without the manifest, through the bundles defipm knows
    assert [s for s in manifest.contracts if table.categories(s, contract_of(s).asset) is None] == []
    bundles = {s: (c.asset, c.multiplier) for s, c in manifest.contracts.items() if c.multiplier != 1}
    assert bundles == {s: (c.asset, c.multiplier) for s, c in VENUE_BUNDLES["bybit"].contracts.items()}


def hyperliquid_coins(folder: Path) -> set[str]:
    """Every coin of the recorded ``meta`` responses."""
    coins: set[str] = set()
    yaml = pytest.importorskip("yaml")
    for path in folder.glob("*.yaml"):
        for interaction in yaml.safe_load(path.read_text())["interactions"]:
            if json.loads(interaction["request"]["body"] or "{}").get("type") == "meta":
                body = json.loads(interaction["response"]["body"]["string"])
                coins.update(asset["name"] for asset in body["universe"])
    return coins


def test_every_hyperliquid_coin_of_the_recorded_meta_is_tagged(hyperliquid_fixtures: Path):
    coins = hyperliquid_coins(hyperliquid_fixtures)
    assert {"BTC", "kPEPE", "MATIC", "RNDR"} <= coins
    table = shipped_tags()
    assert [c for c in sorted(coins) if table.categories(c, contract_of(c).asset) is None] == []
    from defipm.venues.hyperliquid.sim.seed import builtin_seed

    simulated = {a["name"] for a in builtin_seed().universe}  # the local exchange's coins, delisted ones too
    assert [c for c in sorted(simulated) if table.categories(c, contract_of(c).asset) is None] == []
    kilo = {c.asset for c in VENUE_BUNDLES["hyperliquid"].contracts.values()}
    assert kilo == set(HYPERLIQUID_KILO)  # the symbol map and the contract list name the same k coins


def test_every_daily_yahoo_symbol_is_tagged(real_data):  # type: ignore[no-untyped-def]
    folder = real_data("prices", "daily")
    table = shipped_tags()
    assert [p.stem for p in folder.glob("*.csv") if table.categories(p.stem) is None] == []


def test_the_shipped_table_tags_what_the_rules_rely_on():
    table = shipped_tags()
    for meme in ("DOGE", "SHIB", "PEPE", "FLOKI", "BONK", "WIF", "BOME", "MEW", "POPCAT", "BRETT", "TURBO", "PEOPLE"):
        assert "meme" in (table.categories(meme) or ()), meme
    for stable in ("USDC", "USDT", "USDE"):
        assert table.categories(stable) == {"stablecoin"}
    assert table.categories("PAXG") == {"wrapped"}
    for defi in ("UNI", "AAVE", "CRV", "COMP", "SUSHI", "SNX", "YFI", "LDO", "1INCH", "DYDX", "GMX", "PENDLE"):
        assert "defi" in (table.categories(defi) or ()), defi
    assert all(cats <= set(CATEGORIES) for cats in table.tags.values())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("symbol,categories\nFOO,meem\n", r"line 2 \(FOO\): unknown category 'meem' \(did you mean meme\?"),
        ("symbol,categories\nFOO,meme\nFOO,defi\n", r"line 3: FOO is tagged twice"),
        ("symbol,categories\nFOO,meme,extra\n", r"line 2: expected 2 fields"),
        ("symbol,categories\n,meme\n", r"line 2: empty symbol"),
        ("symbol,categories\nFOO,\n", r"line 2 \(FOO\): no category"),
        ("token,tags\nFOO,meme\n", r"line 1: the header must be 'symbol,categories'"),
        ("# only a comment\n", r"empty tag table"),
    ],
)
def test_a_malformed_tag_table_names_the_line(tmp_path: Path, text: str, message: str):
    path = tmp_path / "tags.csv"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_tag_file(path)
    with pytest.raises(ConfigError, match=r"tags\.csv"):  # the same error when a classifier reads it
        Classifier(_view(), ScreenConfig(tag_file=path))


def _view() -> MarketView:
    from defipm.data.synthetic import synthetic_panel

    panel = synthetic_panel(3, 40, seed=1, symbols=["BTC", "ETH", "NEWCOIN"])
    return MarketView(panel, len(panel) - 1)


def test_config_tags_extend_and_override_and_unknown_tokens_are_warnings(tmp_path: Path):
    path = tmp_path / "mine.csv"
    path.write_text("# my tags\nsymbol,categories\nNEWCOIN,meme\nETHH,defi\n")
    config = ScreenConfig(tag_file=path, tags={"BTC": ["defi", "l1"], "SOLL": "l1"})
    classifier = Classifier(_view(), config)
    assert classifier.tags.categories("NEWCOIN") == {"meme"}
    assert classifier.tags.categories("BTC") == {"defi", "l1"}  # replaces the shipped l1;payments
    assert len(classifier.warnings) == 2
    assert "ETHH is not a token of the data (did you mean ETH?)" in classifier.warnings[0]
    assert "SOLL is not a token of the data" in classifier.warnings[1]
    with pytest.raises(ConfigError, match=r"tags.BTC: unknown category 'layer1'"):
        tags_from_mapping({"BTC": ["layer1"]}, "tags")
    with pytest.raises(ConfigError, match="tag file not found"):
        load_tag_file(tmp_path / "missing.csv")


def test_untagged_tokens_are_candidates_with_an_empty_category():
    result = Classifier(_view(), ScreenConfig(window_days=10, trend_long_days=20, min_history_bars=20)).classify()
    row = result.table.set_index("symbol").loc["NEWCOIN"]
    assert row["categories"] == "" and row["reason"] != "category"


def test_unknown_settings_are_named_with_the_accepted_list():
    with pytest.raises(ConfigError) as exc:
        parse_config(ScreenConfig, {"windows_days": 30, "include_memes": True}, "oracle.params")
    text = str(exc.value)
    assert "oracle.params.windows_days: unknown key (did you mean window_days?" in text
    assert "oracle.params.include_memes: unknown key (did you mean include_meme?" in text
    assert "accepted: window_days, return_margin, trend," in text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"window_days": 0}, r"oracle.params.window_days: input should be greater than or equal to 1"),
        ({"volume_threshold": -1}, r"oracle.params.volume_threshold"),
        ({"trend_short_days": 30, "trend_long_days": 7}, r"trend_short_days \(30\) must be shorter"),
        ({"exclude_categories": ["stablecoins"]}, r"exclude_categories: unknown category 'stablecoins'"),
        ({"return_margin": "nan"}, r"return_margin: must be a finite number"),
        ({"top_n": 0}, r"oracle.params.top_n"),
        ({"tags": {"BTC": ["layer1"]}}, r"oracle.params.tags: BTC: unknown category 'layer1' \(known: l1, l2,"),
    ],
)
def test_bad_settings_name_the_key(params: dict, message: str):
    with pytest.raises(ConfigError, match=message):
        parse_config(ScreenConfig, params, "oracle.params")


def test_a_table_is_parsed_from_text_with_comments_and_blank_lines():
    table = read_tag_table("# c\n\nsymbol,categories\nA,meme;l1\nB, defi \n", "inline")
    assert table.tags == {"A": {"meme", "l1"}, "B": {"defi"}}
