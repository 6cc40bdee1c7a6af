"""The one retry policy for reads: transient failures retried with capped, jittered backoff, Retry-After obeyed,
everything else (a bug, a refusal) raised on the first call. The server is a real HTTP server on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm.transport.retry import RetryPolicy, call_with_retry, is_transient, retry_after_s


class _Script(BaseHTTPRequestHandler):
    answers: list[tuple[int, dict[str, str]]] = []
    served: list[int] = []

    def do_GET(self) -> None:
        status, headers = self.answers.pop(0) if self.answers else (200, {})
        self.served.append(status)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Script]]]:
    handler = type("Handler", (_Script,), {"answers": [], "served": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", handler
    httpd.shutdown()
    httpd.server_close()


def _get(url: str) -> str:
    response = requests.get(url, timeout=5)
    response.raise_for_status()
    return response.text


def test_rate_limited_read_waits_as_long_as_the_server_asks(server: tuple[str, type[_Script]]) -> None:
    url, handler = server
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    handler.answers = [(429, {"Retry-After": "2"}), (503, {"Retry-After": later}), (502, {})]
    waits: list[float] = []
    policy = RetryPolicy(attempts=4, first_delay_s=0.1, max_delay_s=1.0, jitter_s=0.05)
    assert call_with_retry(lambda: _get(url), policy, sleep=waits.append) == "ok"
    assert handler.served == [429, 503, 502, 200]
    assert waits[0] >= 2.0 and 1.0 <= waits[1] <= 3.0  # Retry-After (seconds, then an HTTP date) obeyed
    assert waits[2] <= 1.0  # plain backoff is capped


def test_a_server_asking_too_long_a_wait_ends_the_retries(server: tuple[str, type[_Script]]) -> None:
    url, handler = server
    handler.answers = [(429, {"Retry-After": "120"})]
    waits: list[float] = []
    with pytest.raises(requests.HTTPError):
        call_with_retry(lambda: _get(url), RetryPolicy(max_retry_after_s=30), sleep=waits.append)
    assert handler.served == [429] and waits == []


def test_refusals_and_bugs_are_raised_on_the_first_call(server: tuple[str, type[_Script]]) -> None:
    url, handler = server
    handler.answers = [(400, {})]
    with pytest.raises(requests.HTTPError):
        call_with_retry(lambda: _get(url), sleep=lambda s: None)
    assert handler.served == [400]
    calls = []

    def bug() -> None:
        calls.append(1)
        raise KeyError("our own mistake")

    with pytest.raises(KeyError):
        call_with_retry(bug, sleep=lambda s: None)
    assert calls == [1]


def test_unreachable_server_is_retried_then_its_error_raised() -> None:
    waits: list[float] = []
    with pytest.raises(requests.ConnectionError):
        call_with_retry(lambda: _get("http://127.0.0.1:9/"), RetryPolicy(attempts=3), sleep=waits.append)
    assert len(waits) == 2
    assert is_transient(requests.Timeout()) and is_transient(ConnectionResetError()) and not is_transient(OSError())


@settings(max_examples=50, deadline=None)
@given(
    attempts=st.integers(1, 8),
    first=st.floats(0, 2),
    cap=st.floats(0, 5),
    jitter=st.floats(0, 1),
)
def test_backoff_waits_are_capped_and_counted(attempts: int, first: float, cap: float, jitter: float) -> None:
    waits: list[float] = []

    def down() -> None:
        raise ConnectionRefusedError("refused")

    with pytest.raises(ConnectionRefusedError):
        call_with_retry(down, RetryPolicy(attempts, first, cap, jitter), sleep=waits.append)
    assert len(waits) == attempts - 1
    assert all(0 <= w <= cap for w in waits)


def test_retry_after_is_read_only_from_rate_limits_and_unavailable() -> None:
    class Answer(Exception):
        def __init__(self, status: int, headers: dict[str, str]) -> None:
            self.status_code, self.header = status, headers  # as the Hyperliquid SDK's ClientError

    assert retry_after_s(Answer(429, {"Retry-After": "7"})) == 7.0
    assert retry_after_s(Answer(500, {"Retry-After": "7"})) is None
    assert retry_after_s(Answer(503, {"Retry-After": "soon"})) is None
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)


def test_an_sdk_keeping_the_headers_elsewhere_passes_its_own_reader() -> None:
    class Limited(Exception):
        status_code = 429
        error_data = {"Retry-After": "3"}  # where the Hyperliquid SDK puts the headers of an answer that is not JSON

    calls: list[int] = []

    def limited() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise Limited()
        return "ok"

    waits: list[float] = []
    asked = call_with_retry(limited, retry_after=lambda e: float(e.error_data["Retry-After"]), sleep=waits.append)  # type: ignore[attr-defined]
    assert asked == "ok" and waits[0] >= 3.0
