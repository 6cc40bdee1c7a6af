"""Whether a key may trade the configured account, asked of the exchange before anything is sent.

Hyperliquid lets three kinds of key sign orders for an account: the account's own key, an agent (API) wallet the
account approved (``approveAgent``), and, for a vault or sub-account, its leader's (master's) key or an agent of
the leader. ``check_authority`` decides which one the key is from the exchange's own answers:

- ``userRole`` of the key's address: ``{"role": "agent", "data": {"user": <owner>}}`` for an agent wallet,
  ``{"role": "user" | "missing" | "vault"}`` or ``{"role": "subAccount", "data": {"master": ...}}`` otherwise;
- ``extraAgents`` of the owner: its named agents, ``[{"address", "name", "validUntil"}]`` (ms);
- for a vault, ``userRole`` of the vault (``vault`` or ``subAccount``) and ``vaultDetails`` (``leader``).

Anything else is refused before a single order, naming the key's address and the account (never the key): a key
of another funded account would otherwise trade its own book while defipm plans from the configured one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from defipm.core.errors import ConfigError, VenueError
from defipm.venues.hyperliquid.config import is_address

PostInfo = Callable[[str, dict[str, Any]], Any]
"""``post_info(what, body)`` -> decoded ``/info`` answer (``HyperliquidClient.post_info``)."""


class SignerNotAllowedError(ConfigError):
    """The key may not trade the configured account or vault."""


@dataclass(frozen=True)
class Authority:
    """Who signs and for whom. Addresses are lower-case."""

    signer: str
    """The key's own address."""
    owner: str
    """The account the key signs for: itself, or the account it is an agent of (a vault's leader for a vault)."""
    vault: str | None
    """The vault or sub-account traded, if any."""
    signer_kind: Literal["owner", "agent"]
    vault_kind: Literal["vault", "subAccount"] | None = None

    @property
    def traded(self) -> str:
        """The account whose book is traded and read: the vault, else the owner."""
        return self.vault or self.owner


def _role(post_info: PostInfo, address: str) -> tuple[str, str | None]:
    """(role, the related account for agents and sub-accounts) from ``userRole``."""
    answer = post_info("userRole", {"type": "userRole", "user": address})
    role = answer.get("role") if isinstance(answer, dict) else None
    if not isinstance(role, str):
        raise VenueError(f"Hyperliquid userRole of {address}: unexpected answer (no 'role')")
    data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
    related = data.get("user") if role == "agent" else data.get("master") if role == "subAccount" else None
    if role in ("agent", "subAccount") and not (isinstance(related, str) and is_address(related)):
        raise VenueError(f"Hyperliquid userRole of {address}: role {role!r} without a valid account address")
    return role, related.lower() if related else None


def _named_agent(post_info: PostInfo, owner: str, signer: str) -> bool:
    """Whether ``signer`` is among ``owner``'s named, unexpired agents (``extraAgents``)."""
    answer = post_info("extraAgents", {"type": "extraAgents", "user": owner})
    if answer is None:
        return False
    if not isinstance(answer, list):
        raise VenueError(f"Hyperliquid extraAgents of {owner}: expected a list")
    now = int(time.time() * 1000)
    for agent in answer:
        if not isinstance(agent, dict) or not isinstance(agent.get("address"), str):
            raise VenueError(f"Hyperliquid extraAgents of {owner}: an entry without an address")
        until = agent.get("validUntil")
        if agent["address"].lower() == signer and (
            not isinstance(until, int) or isinstance(until, bool) or until > now
        ):
            return True
    return False


def _vault_controller(post_info: PostInfo, vault: str) -> tuple[Literal["vault", "subAccount"], str]:
    role, master = _role(post_info, vault)
    if role == "subAccount" and master is not None:
        return "subAccount", master
    if role != "vault":
        raise SignerNotAllowedError(
            f"vault_address {vault} is not a vault or sub-account on this exchange (its role: {role}); "
            "check the address, or trade it as account_address"
        )
    details = post_info("vaultDetails", {"type": "vaultDetails", "vaultAddress": vault})
    leader = details.get("leader") if isinstance(details, dict) else None
    if not (isinstance(leader, str) and is_address(leader)):
        raise VenueError(f"Hyperliquid vaultDetails of {vault}: no valid 'leader' in the answer")
    return "vault", leader.lower()


def check_authority(post_info: PostInfo, signer: str, account: str | None, vault: str | None) -> Authority:
    """The ``Authority`` of ``signer`` over ``account`` (None = the signer's own) and ``vault``, or
    ``SignerNotAllowedError`` naming the addresses and the fix. Reads only; raises ``VenueError`` on answers it
    cannot read."""
    signer = signer.lower()
    account = account.lower() if account else None
    vault = vault.lower() if vault else None
    vault_kind: Literal["vault", "subAccount"] | None = None
    if vault is not None:
        vault_kind, controller = _vault_controller(post_info, vault)
        what = "leader" if vault_kind == "vault" else "master"
        if account is not None and account != controller:
            raise SignerNotAllowedError(
                f"account_address {account} is not the {what} of {vault_kind} {vault} (its {what} is {controller})"
            )
        owner = controller
    else:
        owner = account or signer
    signer_role, signer_owner = _role(post_info, signer)
    if signer == owner:
        if signer_role == "agent":
            raise SignerNotAllowedError(
                f"the key's address {signer} is an agent (API) wallet of {signer_owner}: "
                f"set account_address = {signer_owner} to trade that account"
            )
        return Authority(signer, owner, vault, "owner", vault_kind)
    if vault is None:
        owner_role, _ = _role(post_info, owner)
        if owner_role in ("vault", "subAccount"):
            raise SignerNotAllowedError(
                f"account_address {owner} is a {owner_role}: set vault_address = {owner} (and sign with its "
                "leader's key or an agent of the leader)"
            )
    if (signer_role == "agent" and signer_owner == owner) or _named_agent(post_info, owner, signer):
        return Authority(signer, owner, vault, "agent", vault_kind)
    whose = f"the {'leader' if vault_kind == 'vault' else 'master'} of {vault_kind} {vault}" if vault else "the account"
    raise SignerNotAllowedError(
        f"the key's address {signer} may not trade for {owner} ({whose}): it is neither that account nor one of "
        f"its approved agent wallets. Use {owner}'s key, or approve {signer} as its agent (approveAgent)"
    )
