"""The service's only writes: a portfolio run's kill switch and an arbitrage run's pause, behind the bearer token,
each request audited.

They go through the functions the command line and the loops use: ``manager.set_kill_switch`` (the manager reads
the switch before every cycle, so a running process halts at its next cycle) and ``arb.risk_state.set_paused``
(the arbitrage risk manager reads the pause before every check). Checks run in this order, each refusal audited
and changing nothing: the token (401), the body (422, naming the field; a body that is not JSON, or not a JSON object, is refused as
``body`` with the shape expected), the run (404). The action and its audit
row commit in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from defipm.arb.risk_state import set_paused
from defipm.manager import set_kill_switch
from defipm.service.access import StoreAccess
from defipm.service.access_token import AccessToken
from defipm.service.arbitrage import require_arb_run, risk_state
from defipm.service.audit import AuditEntry, record_audit
from defipm.service.refusals import BadField, NotFound, Unauthorized
from defipm.service.runs import require_run
from defipm.store import Store

__all__ = ["Controls", "KillSwitchRequest", "PauseRequest", "UnreadableBody", "WriteRequest"]


class _WriteBody(BaseModel):
    """A write's JSON body; ``expected`` shows its shape in a refusal and in the API's summary."""

    model_config = ConfigDict(extra="forbid", strict=True)
    expected: ClassVar[str]


class KillSwitchRequest(_WriteBody):
    """``engaged``: true engages (``reason`` required), false releases (and restarts drawdown measurement)."""

    expected: ClassVar[str] = '{"engaged": true, "reason": "..."} to engage, {"engaged": false} to release'
    engaged: bool
    reason: str | None = Field(default=None, max_length=500)


class PauseRequest(_WriteBody):
    """``paused``: true pauses the arbitrage run, false resumes it; ``reason`` is audited."""

    expected: ClassVar[str] = '{"paused": true} to pause, {"paused": false} to resume (optional "reason": "...")'
    paused: bool
    reason: str | None = Field(default=None, max_length=500)


@dataclass(frozen=True, slots=True)
class UnreadableBody:
    """A write's body that does not parse as JSON; ``reason`` is the parser's (where it stopped)."""

    reason: str


_JSON_KINDS = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def _body_problem(body: Any, model: type[_WriteBody]) -> str | None:
    """What is wrong with a body that is not a JSON object at all (the shape expected included); None otherwise."""
    if isinstance(body, UnreadableBody):
        found = f"not valid JSON ({body.reason})"
    elif not isinstance(body, dict):
        found = f"expected a JSON object, got {'null' if body is None else _JSON_KINDS.get(type(body), 'a value')}"
    else:
        return None
    return f"{found}: send {model.expected}"


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """Who asks (``client``), with which ``authorization`` header, for which ``run``, with which ``body``: the parsed
    JSON, or ``UnreadableBody`` when it was not JSON."""

    run: str
    body: Any
    authorization: str | None
    client: str


class Controls:
    def __init__(self, access: StoreAccess, token: AccessToken) -> None:
        self.access = access
        self.token = token

    def kill_switch(self, request: WriteRequest) -> dict[str, Any]:
        """Engage or release ``request.run``'s kill switch; returns the switch as stored."""
        asked = self._checked(request, KillSwitchRequest, "kill_switch")
        assert isinstance(asked, KillSwitchRequest)
        action = "kill_switch.engage" if asked.engaged else "kill_switch.release"
        reason = (asked.reason or "").strip()
        if asked.engaged and not reason:
            self._refuse(request, action, 422, "invalid", "reason: give a reason to engage the kill switch")
            raise BadField("reason", "give a reason to engage the kill switch (it is shown while trading is halted)")
        self._require(request, action, require_run)
        entry = AuditEntry(action, request.run, request.client, "done", 200, reason)

        def act(store: Store) -> None:
            set_kill_switch(store, request.run, reason if asked.engaged else None)
            record_audit(store, entry)

        self.access.write(act)
        return {"run": request.run, "kill_switch": {"engaged": asked.engaged, "reason": reason or None}}

    def pause(self, request: WriteRequest) -> dict[str, Any]:
        """Pause or resume arbitrage run ``request.run``; returns its risk state as stored."""
        asked = self._checked(request, PauseRequest, "arb.pause_resume")
        assert isinstance(asked, PauseRequest)
        action = "arb.pause" if asked.paused else "arb.resume"
        self._require(request, action, require_arb_run)
        entry = AuditEntry(action, request.run, request.client, "done", 200, (asked.reason or "").strip())

        def act(store: Store) -> None:
            set_paused(store, request.run, asked.paused)
            record_audit(store, entry)

        self.access.write(act)
        with self.access.read() as conn:
            return {"run": request.run, "risk": risk_state(conn, request.run)}

    def _checked(self, request: WriteRequest, model: type[_WriteBody], action: str) -> BaseModel:
        if not self.token.matches(request.authorization):
            why = "no bearer token" if not request.authorization else "wrong bearer token"
            self._refuse(request, action, 401, "unauthorized", why)
            raise Unauthorized(f"{why}: write actions need 'Authorization: Bearer <token>' (the service's token file)")
        problem = _body_problem(request.body, model)
        if problem is not None:
            self._refuse(request, action, 422, "invalid", f"body: {problem}")
            raise BadField("body", problem)
        try:
            return model.model_validate(request.body)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "body"
            self._refuse(request, action, 422, "invalid", f"{field}: {first['msg']}")
            raise BadField(field, str(first["msg"])) from None

    def _require(self, request: WriteRequest, action: str, check: Any) -> None:
        try:
            with self.access.read() as conn:
                check(conn, request.run)
        except NotFound as exc:
            self._refuse(request, action, 404, "not_found", str(exc))
            raise

    def _refuse(self, request: WriteRequest, action: str, status: int, outcome: str, detail: str) -> None:
        entry = AuditEntry(action, request.run, request.client, outcome, status, detail)
        self.access.write(record_audit, entry)
