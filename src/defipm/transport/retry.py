"""Retrying reads over the network: the one retry policy of defipm (tenacity underneath).

``call_with_retry(fn, policy)`` calls ``fn`` and, when it fails with a transient transport error, waits and calls it
again: exponential backoff from ``first_delay_s`` with random jitter (so many clients do not retry in step), no wait
longer than ``max_delay_s``, at most ``attempts`` calls. A server that answers HTTP 429 or 503 with a
``Retry-After`` header is obeyed: the wait is at least what it asks (seconds or an HTTP date); when it asks for more
than ``max_retry_after_s`` the error is raised at once instead. The last error is re-raised unchanged, so callers
translate it into defipm's errors as they did without retries.

Only reads go through this: a signed order or transaction sent again after a timeout may execute twice, so sends
are never retried blind (the journal reconciles them instead).

Transient (``is_transient``): connection failures and timeouts (builtin, ``requests`` and ``urllib``), and HTTP
statuses 408, 425, 429, 500, 502, 503, 504, read from ``exc.response.status_code`` (requests), ``exc.status_code``
(SDK errors such as Hyperliquid's ``ClientError`` / ``ServerError``) or ``exc.code`` (urllib). Anything else, a
bug in our own code included, is raised on the first call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_any, wait_exponential_jitter
from tenacity.stop import stop_base

__all__ = [
    "DEFAULT_POLICY",
    "RETRY_STATUSES",
    "RetryPolicy",
    "call_with_retry",
    "http_status",
    "is_transient",
    "retry_after_s",
]

T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
"""HTTP statuses worth asking again: timeouts, rate limits and a server or gateway that failed for now."""
_RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry a read.

    attempts: calls in all (1 = no retry). first_delay_s: the first wait before jitter; each retry doubles it.
    max_delay_s: cap on any one backoff wait, seconds. jitter_s: up to this many random seconds added to each
    backoff wait. max_retry_after_s: the longest ``Retry-After`` obeyed; a server asking for more ends the retries.
    """

    attempts: int = 4
    first_delay_s: float = 0.25
    max_delay_s: float = 4.0
    jitter_s: float = 0.25
    max_retry_after_s: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be at least 1, got {self.attempts}")
        for name in ("first_delay_s", "max_delay_s", "jitter_s", "max_retry_after_s"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"RetryPolicy.{name} must be a number >= 0, got {getattr(self, name)!r}")


DEFAULT_POLICY = RetryPolicy()


def http_status(exc: BaseException) -> int | None:
    """The HTTP status an exception carries, or None (see the module docstring for where it is read)."""
    response = getattr(exc, "response", None)
    for holder, name in ((response, "status_code"), (exc, "status_code"), (exc, "code")):
        value = getattr(holder, name, None) if holder is not None else None
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
            return value
    return None


def _headers(exc: BaseException) -> Mapping[str, Any]:
    response = getattr(exc, "response", None)
    for holder, name in ((response, "headers"), (exc, "headers"), (exc, "header")):
        value = getattr(holder, name, None) if holder is not None else None
        if value is not None and hasattr(value, "get"):
            return value  # type: ignore[no-any-return]
    return {}


def retry_after_s(exc: BaseException, now: datetime | None = None) -> float | None:
    """Seconds a 429 or 503 answer asks the client to wait (its ``Retry-After``: delta-seconds or an HTTP date), or
    None when it asks nothing."""
    if http_status(exc) not in _RETRY_AFTER_STATUSES:
        return None
    headers = _headers(exc)
    raw = headers.get("Retry-After") or headers.get("retry-after")
    if raw is None:
        return None
    text = str(raw).strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def _transport_classes() -> tuple[type[BaseException], ...]:
    classes: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        import requests

        classes += [requests.ConnectionError, requests.Timeout]
    except ImportError:  # pragma: no cover - requests is not a base dependency
        pass
    from urllib.error import URLError

    classes.append(URLError)
    return tuple(classes)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a transport failure worth retrying (see the module docstring)."""
    status = http_status(exc)
    if status is not None:
        return status in RETRY_STATUSES
    return isinstance(exc, _transport_classes())


class _AsksTooLong(stop_base):
    """Stop when the server asks for a longer wait than ``limit`` seconds."""

    def __init__(self, limit: float, asks: Callable[[BaseException], float | None]) -> None:
        self.limit = limit
        self.asks = asks

    def __call__(self, retry_state: Any) -> bool:
        asked = self.asks(retry_state.outcome.exception())
        return asked is not None and asked > self.limit


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy = DEFAULT_POLICY,
    *,
    transient: Callable[[BaseException], bool] = is_transient,
    retry_after: Callable[[BaseException], float | None] = retry_after_s,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``fn()``, called again after a transient failure as ``policy`` says; the last error is re-raised as it was.

    ``transient`` decides which errors are retried (default ``is_transient``); ``retry_after`` reads the wait a
    server asked for from an error (default ``retry_after_s``; an SDK that keeps the headers elsewhere passes its
    own); ``sleep`` does the waiting (tests pass one that records the waits)."""
    backoff = wait_exponential_jitter(max=policy.max_delay_s, jitter=policy.jitter_s, multiplier=policy.first_delay_s)

    def wait(state: Any) -> float:
        asked = retry_after(state.outcome.exception())
        delay = float(backoff(state))
        return max(delay, asked) if asked is not None else delay

    retrying = Retrying(
        stop=stop_any(stop_after_attempt(policy.attempts), _AsksTooLong(policy.max_retry_after_s, retry_after)),
        wait=wait,
        retry=retry_if_exception(transient),
        reraise=True,
        sleep=sleep,
    )
    return retrying(fn)
