"""The defipm exception tree. Every adapter translates its library's errors into one of these at the boundary.

DefipmError
 ├── ConfigError                 a config file, key or value is wrong or missing
 ├── InvalidWeightsError         target weights break one or more constraints (lists every problem)
 ├── DataError                   market or signal data is missing, malformed or out of range
 │    └── LookAheadError         code asked for data after the simulation clock
 ├── VenueError                  anything a venue refuses or cannot do
 │    ├── UnknownSymbolError     a symbol the venue does not list
 │    ├── MissingPriceError      no price, or a stale one, for a symbol that needs it
 │    ├── OrderRejectedError     the venue refused one order (reason attached)
 │    │    └── InsufficientMarginError
 │    ├── MalformedAnswerError   a venue's answer could not be read (a missing, mistyped or unusable field)
 │    └── VenueUnavailableError  network, rate limit or server error; the call may be retried
 ├── JournalError                the order journal and the venue disagree in a way that needs a human
 ├── TradingHaltedError          the kill switch or a circuit breaker stops trading
 └── PortfolioLockedError        another process runs this portfolio (or took it over from this one)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime


class DefipmError(Exception):
    """Base class of every error defipm raises on purpose."""


class ConfigError(DefipmError):
    """A configuration file, key or value is wrong or missing."""


class InvalidWeightsError(DefipmError):
    """Target weights break constraints. ``problems`` holds one readable line per problem; ``at``, when given,
    is the time of the cycle that asked for them (a backtest's bar), named once before the problems."""

    def __init__(self, problems: Sequence[str], at: datetime | None = None) -> None:
        self.problems = list(problems)
        self.at = at
        when = f" at {at:%Y-%m-%d %H:%M} UTC" if at is not None else ""
        super().__init__(f"invalid weights{when}: " + "; ".join(self.problems))


class DataError(DefipmError):
    """Market or signal data is missing, malformed or out of range."""


class LookAheadError(DataError):
    """Code asked a point-in-time data view for data after its clock."""


class VenueError(DefipmError):
    """A venue refused or could not perform an operation."""


class UnknownSymbolError(VenueError):
    """A symbol the venue does not list."""


class MissingPriceError(VenueError):
    """No usable (present, finite, positive, fresh) price for a symbol that needs one."""


class OrderRejectedError(VenueError):
    """The venue refused an order."""

    def __init__(self, message: str, *, symbol: str | None = None, client_order_id: str | None = None):
        self.symbol = symbol
        self.client_order_id = client_order_id
        super().__init__(message)


class InsufficientMarginError(OrderRejectedError):
    """The account lacks the margin or cash the order needs."""


class MalformedAnswerError(VenueError):
    """A venue's answer could not be read: a missing, mistyped or unusable field (the message names the answer,
    the symbol and the field). A parse failure inside a venue is this, never a ``ValueError`` or ``KeyError``."""


class VenueUnavailableError(VenueError):
    """Network failure, timeout, rate limit or server error: the outcome of the call may be unknown."""


class JournalError(DefipmError):
    """The journal and the venue disagree in a way that needs a human."""


class TradingHaltedError(DefipmError):
    """The kill switch is engaged or a circuit breaker has tripped."""


class PortfolioLockedError(DefipmError):
    """Another process holds this portfolio's run lock (the message names it: host, pid, since when), or took the
    lock over from this process, which must then stop trading."""
