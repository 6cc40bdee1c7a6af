"""Who may sign for whom on the local exchange: API (agent) wallets, vaults and sub-accounts, and the ``/info``
answers about them (``userRole``, ``extraAgents``, ``vaultDetails``) in Hyperliquid's shapes.

- An agent wallet is approved by an account's own key (``approveAgent``, a user-signed action). An account has
  one unnamed agent and up to ``MAX_NAMED_AGENTS`` named ones; approving again under the same name (or unnamed)
  replaces the earlier agent. A name may end in ``" valid_until <ms>"``; named agents without one are listed
  with ``validUntil`` = approval time + ``DEFAULT_VALIDITY_MS`` (a choice of this simulator). An expired agent
  signs for nobody. An agent only signs L1 actions (orders, cancels, leverage), never user-signed ones.
- A vault (or a sub-account) is an account without a key, controlled by its leader (or master): an L1 action
  with ``vaultAddress`` trades the vault's book, and only when signed by the leader or one of the leader's
  agents.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

MAX_NAMED_AGENTS = 3
DEFAULT_VALIDITY_MS = 180 * 24 * 3600 * 1000
VALID_UNTIL = " valid_until "


class RoleError(Exception):
    """An approval or an action on behalf of another account is refused; the message is the exchange's answer."""


@dataclass(frozen=True)
class Agent:
    address: str
    owner: str
    name: str
    """"" for the unnamed agent."""
    valid_until: int | None

    def valid(self, now_ms: int) -> bool:
        return self.valid_until is None or now_ms < self.valid_until


@dataclass(frozen=True)
class Controlled:
    """A vault or a sub-account and the account that controls it."""

    address: str
    kind: str
    """"vault" or "subAccount"."""
    controller: str
    name: str


def _now() -> int:
    return int(time.time() * 1000)


class Roles:
    """Agents, vaults and sub-accounts. Addresses are kept lower-case."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.agents: dict[str, Agent] = {}
        self.controlled: dict[str, Controlled] = {}

    # -- agents ---------------------------------------------------------------------------------------------
    def approve(self, owner: str, agent: str, name: str, now_ms: int | None = None, *, is_user: bool = False) -> None:
        """Approve ``agent`` for ``owner`` under ``name`` ("" = the unnamed agent). ``is_user``: the agent
        address is itself an account (refused, as the real exchange does)."""
        now = _now() if now_ms is None else now_ms
        owner, agent = owner.lower(), agent.lower()
        label, valid_until = self._parse_name(name, now)
        with self._lock:
            if is_user or agent in self.controlled:
                raise RoleError(f"Agent address {agent} is already a user.")
            held = self.agents.get(agent)
            if held is not None and held.owner != owner:
                raise RoleError(f"Agent address {agent} is already used by another user.")
            mine = [a for a in self.agents.values() if a.owner == owner]
            replaced = next((a for a in mine if a.name == label), None)
            named = [a for a in mine if a.name and a is not replaced]
            if label and len(named) >= MAX_NAMED_AGENTS:
                raise RoleError(f"Too many named agents: at most {MAX_NAMED_AGENTS} per user.")
            if replaced is not None:
                del self.agents[replaced.address]
            if label and valid_until is None:
                valid_until = now + DEFAULT_VALIDITY_MS
            self.agents[agent] = Agent(agent, owner, label, valid_until)

    @staticmethod
    def _parse_name(name: str, now: int) -> tuple[str, int | None]:
        if VALID_UNTIL not in name:
            return name, None
        label, _, until = name.partition(VALID_UNTIL)
        try:
            ms = int(until)
        except ValueError:
            raise RoleError(f"Invalid agent name {name!r}: valid_until must be milliseconds.") from None
        if ms <= now:
            raise RoleError(f"Invalid agent name {name!r}: valid_until is in the past.")
        return label, ms

    def agent_owner(self, address: str, now_ms: int | None = None) -> str | None:
        """The account an unexpired agent signs for, or None."""
        agent = self.agents.get(address.lower())
        if agent is None or not agent.valid(_now() if now_ms is None else now_ms):
            return None
        return agent.owner

    # -- vaults and sub-accounts ------------------------------------------------------------------------------
    def add_controlled(self, address: str, kind: str, controller: str, name: str = "") -> None:
        if kind not in ("vault", "subAccount"):
            raise ValueError(f"kind must be 'vault' or 'subAccount', got {kind!r}")
        with self._lock:
            self.controlled[address.lower()] = Controlled(address.lower(), kind, controller.lower(), name)

    def controller_of(self, address: str) -> Controlled | None:
        return self.controlled.get(address.lower())

    # -- /info -----------------------------------------------------------------------------------------------
    def user_role(self, address: str, is_user: bool) -> dict[str, Any]:
        """``userRole``: user, agent (with its user), vault, subAccount (with its master) or missing."""
        address = address.lower()
        controlled = self.controlled.get(address)
        if controlled is not None:
            if controlled.kind == "vault":
                return {"role": "vault"}
            return {"role": "subAccount", "data": {"master": controlled.controller}}
        owner = self.agent_owner(address)
        if owner is not None:
            return {"role": "agent", "data": {"user": owner}}
        return {"role": "user"} if is_user else {"role": "missing"}

    def extra_agents(self, owner: str) -> list[dict[str, Any]]:
        """``extraAgents``: the named, unexpired agents of ``owner`` (the unnamed one is not listed)."""
        now, owner = _now(), owner.lower()
        return [
            {"address": a.address, "name": a.name, "validUntil": a.valid_until}
            for a in self.agents.values()
            if a.owner == owner and a.name and a.valid(now)
        ]

    def vault_details(self, address: str) -> dict[str, Any] | None:
        """``vaultDetails`` (the fields about who controls it; no history), or None for a non-vault."""
        vault = self.controlled.get(address.lower())
        if vault is None or vault.kind != "vault":
            return None
        return {
            "name": vault.name or f"vault {vault.address[:8]}",
            "vaultAddress": vault.address,
            "leader": vault.controller,
            "description": "",
            "portfolio": [],
            "apr": 0.0,
            "followerState": None,
            "leaderFraction": 1.0,
            "leaderCommission": 0.1,
            "followers": [],
            "maxDistributable": 0.0,
            "maxWithdrawable": 0.0,
            "isClosed": False,
            "relationship": {"type": "normal"},
            "allowDeposits": True,
            "alwaysCloseOnWithdraw": False,
        }
