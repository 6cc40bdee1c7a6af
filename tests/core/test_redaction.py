"""Endpoints show scheme, host and port only; error texts lose every secret part of a URL, however it is printed."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from defipm.core.redaction import redact_text, redact_url

SECRET = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=8, max_size=40)
HOST = st.sampled_from(["127.0.0.1", "eth-mainnet.g.example.com", "node.internal", "[::1]"])
PORT = st.one_of(st.none(), st.integers(1, 65535))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://eth-mainnet.example.com/v2/KEY123456", "https://eth-mainnet.example.com"),
        ("wss://node.example.com:8546/ws/v3/KEY123456?x=1", "wss://node.example.com:8546"),
        ("postgresql+psycopg://trader:hunter2@db.internal:5432/defipm", "postgresql+psycopg://db.internal:5432"),
        ("http://[::1]:8545/", "http://[::1]:8545"),
        ("sqlite:////var/lib/defipm/state.db", "sqlite:////var/lib/defipm/state.db"),
        ("sqlite:///state.db?cipher_key=SECRET", "sqlite:///state.db"),
        ("sqlite://", "sqlite://"),
        ("not a url with KEY123456", "<hidden URL>"),
        ("http://host:notaport/KEY123456", "<hidden URL>"),
    ],
)
def test_an_endpoint_is_scheme_host_and_port(url: str, shown: str):
    assert redact_url(url) == shown


@given(scheme=st.sampled_from(["http", "https", "ws", "wss", "postgresql+psycopg"]), host=HOST, port=PORT,
       user=SECRET, password=SECRET, path_key=SECRET, query_key=SECRET, before=st.text(max_size=20),
       after=st.text(max_size=20))  # fmt: skip
def test_no_secret_part_of_a_url_survives_in_a_message(scheme, host, port, user, password, path_key, query_key,
                                                        before, after):  # fmt: skip
    netloc = f"{user}:{password}@{host}" + (f":{port}" if port else "")
    url = f"{scheme}://{netloc}/v2/{path_key}?apikey={query_key}"
    secrets = (user, password, path_key, query_key)
    shown = redact_url(url)
    assert not any(s in shown for s in secrets)
    messages = [
        f"{before}{url}{after}",  # the URL itself, anywhere
        f"{before}Max retries exceeded with url: /v2/{path_key}?apikey={query_key} (Caused by X){after}",  # urllib3
        f"{before}bad key {path_key} and {quote(query_key)}{after}",  # the parts on their own
    ]
    for message in messages:
        cleaned = redact_text(message, url)
        assert not any(s in cleaned for s in secrets), cleaned


def test_a_url_in_a_sentence_keeps_the_punctuation_after_it():
    text = (
        "cannot open database postgresql+psycopg://u:hunter2@127.0.0.1:1/x: refused. See http://h:8545/k123456789, then"
    )
    assert (
        redact_text(text) == "cannot open database postgresql+psycopg://127.0.0.1:1: refused. See http://h:8545, then"
    )


def test_text_without_secrets_is_left_alone():
    text = "read chain id: node unreachable (ConnectionError: connection refused)"
    assert redact_text(text, "http://127.0.0.1:8545") == text
    assert redact_text("see sqlite:////tmp/x.db", None) == "see sqlite:////tmp/x.db"
