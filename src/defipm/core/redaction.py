"""Keeping secrets out of what defipm shows: the one way to print an endpoint, and the scrubbing of error texts.

Hosted nodes carry their API key in the URL's path or query (``https://eth-mainnet.example.com/v2/KEY``), databases
their password in the user part. ``redact_url`` shows an endpoint as ``scheme://host:port`` only. ``redact_text``
cleans a message written by someone else (an HTTP library, a driver) before it becomes one of ours: every URL in it
is reduced the same way, what urllib3 prints of a request's path (``with url: /v2/KEY``) is dropped, and the secret
parts of the URLs the caller knows are removed wherever they appear, even on their own. ``hide_in_logs`` does the
same for every log record of the process (web3 and urllib3 log each request's full URL at DEBUG).
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import parse_qsl, unquote, urlsplit

HIDDEN = "***"
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://(?:[^\s'\"<>()\[\]{}|\\^`]*[^\s'\"<>()\[\]{}|\\^`.,:;!?])?")
"""A URL in running text; punctuation that ends a sentence or a clause is not part of it."""
_REQUEST_PATH = re.compile(r"(\burl: )/[^\s'\"()]*")
_MIN_SECRET = 4
"""Shorter URL parts (``v2``, ``rpc``) are not worth scrubbing from a message and would mangle it."""


def redact_url(url: str) -> str:
    """``url`` as ``scheme://host:port``: user, password, path, query and fragment dropped. A URL without a host
    (``sqlite:///file.db``) keeps its path, which names a local file; its query is dropped. Text that is not a URL
    comes back as ``<hidden URL>``, never as itself."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return "<hidden URL>"
    if not parts.scheme or "://" not in url:
        return "<hidden URL>"
    if not host:
        return f"{parts.scheme}://{parts.path}" if not parts.netloc else f"{parts.scheme}://"
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}" + (f":{port}" if port is not None else "")


def secret_parts(url: str) -> list[str]:
    """The parts of ``url`` that may be secret (user, password, path, its segments, query and its values), raw and
    percent-decoded, longest first. A URL without a host (a local file) has none."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return [url] if len(url) >= _MIN_SECRET else []
    if not host:
        return [p for p in (parts.password, parts.query) if p]
    pieces = [parts.username, parts.password, parts.query, parts.fragment]
    if parts.path not in ("", "/"):
        pieces += [parts.path, *parts.path.split("/")]
        pieces.append(f"{parts.path}?{parts.query}" if parts.query else None)
    pieces += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    found = {p for p in pieces if p and len(p) >= _MIN_SECRET}
    found |= {unquote(p) for p in found}
    return sorted(found, key=len, reverse=True)


def redact_text(text: str, *urls: str | None) -> str:
    """``text`` without secrets: the secret parts of ``urls`` replaced by ``***``, every URL shown by
    ``redact_url``, and request paths printed by urllib3 (``with url: /path``) dropped."""
    for url in urls:
        if url:
            for part in secret_parts(url):
                text = text.replace(part, HIDDEN)
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    return _REQUEST_PATH.sub(lambda m: f"{m.group(1)}{HIDDEN}", text)


_hidden_in_logs: list[str] = []
_hiding_lock = threading.Lock()


def hide_in_logs(url: str) -> None:
    """From now on, log records made in this process (defipm's and every library's) show the secret parts of
    ``url`` as ``***``. Costs nothing while logging is off; a record is only built for an enabled level."""
    _hide(secret_parts(url))


def hide_secret_in_logs(secret: str) -> None:
    """From now on, log records made in this process show ``secret`` (a token, a key: any text) as ``***``."""
    _hide([secret] if len(secret) >= _MIN_SECRET else [])


def _hide(parts: list[str]) -> None:
    if not parts:
        return
    with _hiding_lock:
        if not _hidden_in_logs:
            _install_record_factory()
        known = set(_hidden_in_logs) | set(parts)
        _hidden_in_logs[:] = sorted(known, key=len, reverse=True)


def _install_record_factory() -> None:
    make_record = logging.getLogRecordFactory()

    def hiding_record(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: logging reports it itself
            return record
        if any(part in message for part in _hidden_in_logs):
            for part in _hidden_in_logs:
                message = message.replace(part, HIDDEN)
            record.msg, record.args = message, None
        return record

    logging.setLogRecordFactory(hiding_record)


__all__ = ["HIDDEN", "hide_in_logs", "hide_secret_in_logs", "redact_text", "redact_url", "secret_parts"]
