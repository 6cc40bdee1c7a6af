"""The service's refusals and how each becomes an HTTP answer: one JSON shape, ``{"error": ..., "field": ...}``.

- ``BadField`` (422): a query parameter, path part or body field is malformed; ``field`` names it.
- ``NotFound`` (404): an unknown run, report or execution, named with the ones that exist where that helps.
- ``Unauthorized`` (401): a write action without the right bearer token.
- ``DatabaseUnavailable`` (503): the database is missing, locked or down, with the cause.
- FastAPI's own validation errors (a limit out of range, a date that does not parse) become the same 422 shape,
  naming the first field that failed and why.
Nothing else of ours escapes as a traceback: any other error is a 500 with its class name only, logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from defipm.service.access import DatabaseUnavailable
from defipm.service.refusals import BadField, NotFound, Unauthorized

__all__ = ["install_error_handlers"]

log = logging.getLogger("defipm.service")


def _answer(status: int, message: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status)


def _validation_message(exc: RequestValidationError) -> tuple[str, str]:
    first = exc.errors()[0] if exc.errors() else {"loc": ("request",), "msg": "invalid"}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body", "header")]
    field = ".".join(loc) or "request"
    return field, f"{field}: {first.get('msg', 'invalid')}"


HtmlError = Callable[[Request, int, str], Response]


def install_error_handlers(app: FastAPI, html: HtmlError | None = None) -> None:
    """JSON answers for the API and ``/metrics``; ``html(request, status, message)`` renders them for pages."""

    def answer(request: Request, status: int, message: str, field: str | None = None) -> Response:
        path = request.url.path
        if html is not None and not path.startswith(("/api", "/metrics", "/static/", "/openapi", "/docs")):
            return html(request, status, message)
        return _answer(status, message, field)

    @app.exception_handler(BadField)
    async def _bad_field(request: Request, exc: BadField) -> Response:
        return answer(request, 422, str(exc), exc.field)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        field, message = _validation_message(exc)
        return answer(request, 422, message, field)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return answer(request, 404, str(exc))

    @app.exception_handler(Unauthorized)
    async def _unauthorized(request: Request, exc: Unauthorized) -> Response:
        refused = answer(request, 401, str(exc))
        refused.headers["WWW-Authenticate"] = 'Bearer realm="defipm"'
        return refused

    @app.exception_handler(DatabaseUnavailable)
    async def _unavailable(request: Request, exc: DatabaseUnavailable) -> Response:
        return answer(request, 503, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return answer(request, exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return answer(request, 500, f"internal error ({type(exc).__name__}); the service log has the request")
