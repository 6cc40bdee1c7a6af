"""The service's refusals, free of any web framework (the loops' metrics exporter imports the reads too):
``BadField`` (a malformed request field: 422), ``NotFound`` (an unknown run, report or record: 404) and
``Unauthorized`` (a write without the right bearer token: 401). ``service.errors`` turns them into answers."""

from __future__ import annotations

from defipm.core.errors import DefipmError

__all__ = ["BadField", "NotFound", "Unauthorized"]


class BadField(DefipmError):
    """A malformed request field (HTTP 422); ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class NotFound(DefipmError):
    """An unknown run, report or record (HTTP 404)."""


class Unauthorized(DefipmError):
    """A write without the right bearer token (HTTP 401)."""
