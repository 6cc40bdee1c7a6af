"""A thin client over the official SDK: ``Info`` (always ``skip_ws=True``) for reads, the SDK's signing functions
(``sign_l1_action``, ``sign_usd_class_transfer_action``, ``sign_agent``) and its ``API.post`` for ``/exchange``
actions. The SDK's signing module, and ``eth_account`` with it, is imported when something is first signed
(``signing.sdk_signing``): reading commands never load it.

Three addresses: the *signer* (the key's own), the *owner* it signs for (itself, or the account that approved it
as an agent wallet) and the *traded* account, the one every read asks about (the owner, or the vault configured).
With a vault, every L1 action carries ``vaultAddress`` and is signed over it, as the SDK's ``Exchange`` does;
user-signed transfers carry none (a sub-account's is named inside the amount, as the SDK writes it).

What it adds: errors translated into defipm's tree at this boundary (429/5xx/timeouts -> VenueUnavailableError,
refusals -> OrderRejectedError / InsufficientMarginError), retries with exponential backoff for reads only (an
action is never re-sent here: its outcome is unknown, the caller asks by cloid), strictly increasing nonces (the
SDK uses the millisecond clock, so two actions in one millisecond would collide), and timing of signing vs HTTP.
The private key stays inside the ``L1Signer`` (and the ``eth_account`` wallet it makes); nothing here formats it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import requests
from hyperliquid.api import API
from hyperliquid.info import Info
from hyperliquid.utils.error import ClientError, ServerError
from hyperliquid.utils.types import Cloid

from defipm.core.amounts import format_amount
from defipm.core.errors import (
    ConfigError,
    InsufficientMarginError,
    OrderRejectedError,
    UnknownSymbolError,
    VenueError,
    VenueUnavailableError,
)
from defipm.core.orders import Fill
from defipm.core.redaction import redact_text
from defipm.venues.hyperliquid.authority import Authority, check_authority
from defipm.venues.hyperliquid.config import HyperliquidConfig
from defipm.venues.hyperliquid.credentials import Credentials, secret_variable
from defipm.venues.hyperliquid.parsing import (
    FeeRates,
    MalformedAnswerError,
    OpenOrder,
    parse_fills,
    parse_frontend_open_orders,
    parse_meta,
    parse_spot_usdc,
    parse_user_fees,
    parse_user_state,
)
from defipm.venues.hyperliquid.signing import L1Signer, sdk_signing

T = TypeVar("T")


@dataclass
class Timing:
    """Seconds spent building and signing actions vs waiting on HTTP for them, and how many were sent."""

    sign_secs: float = 0.0
    http_secs: float = 0.0
    actions: int = 0


logger = logging.getLogger(__name__)


def classify_refusal(message: str, *, symbol: str | None = None, cloid: str | None = None) -> OrderRejectedError:
    """The defipm error for an exchange's refusal text."""
    text = f"{symbol}: {message}" if symbol else message
    if "margin" in message.lower():
        return InsufficientMarginError(text, symbol=symbol, client_order_id=cloid)
    return OrderRejectedError(text, symbol=symbol, client_order_id=cloid)


ADDRESS_HINT = "The address is [venue.params] base_url"
"""Where a config-driven command takes the exchange's address; a command with its own option says that instead."""


def unreachable_hint(url: str) -> str:
    """What to check when ``url`` does not answer: whether the local exchange runs (for a loopback address), and
    the key that sets the address."""
    local = any(host in url for host in ("://127.", "://localhost", "://[::1]"))
    running = "is the local exchange running (`defipm hl-sim sim`)?" if local else "is the exchange reachable?"
    return f"{running} {ADDRESS_HINT}"


def translate(exc: BaseException, what: str, url: str | None = None) -> VenueError:
    """Map an SDK/requests exception to defipm's tree, naming ``url`` (the exchange's address) when a connection
    failed or timed out. Never includes request bodies (they carry signatures)."""
    at = f" to {url}" if url else ""
    hint = f": {unreachable_hint(url)}" if url else ""
    if isinstance(exc, requests.Timeout):
        return VenueUnavailableError(f"{what}: timed out{f' waiting for {url}' if url else ''}{hint}")
    if isinstance(exc, requests.ConnectionError):
        return VenueUnavailableError(f"{what}: connection{at} failed ({type(exc).__name__}){hint}")
    if isinstance(exc, ServerError):
        return VenueUnavailableError(f"{what}: HTTP {exc.status_code} from Hyperliquid")
    if isinstance(exc, ClientError):
        if exc.status_code == 429:
            return VenueUnavailableError(f"{what}: rate limited (HTTP 429)")
        return VenueError(f"{what}: HTTP {exc.status_code}: {str(exc.error_message)[:200]}")
    if isinstance(exc, requests.RequestException):
        return VenueUnavailableError(f"{what}: {type(exc).__name__}")
    return VenueError(f"{what}: {type(exc).__name__}: {exc}")


def order_statuses(response: Any, count: int, what: str = "order") -> list[Any]:
    """The per-order status entries of an ``order`` action's answer, one per order sent, in order.

    A top-level refusal (``{"status": "err", ...}``: nothing was placed) raises ``OrderRejectedError`` (or
    ``InsufficientMarginError``); an "ok" answer without ``count`` statuses raises a plain ``VenueError``, since
    the orders may have executed and must be looked up by cloid, never taken as refused."""
    if not isinstance(response, dict) or response.get("status") != "ok":
        reason = response.get("response") if isinstance(response, dict) else response
        raise classify_refusal(str(reason))
    try:
        statuses = response["response"]["data"]["statuses"]
    except (KeyError, TypeError):
        statuses = None
    if not isinstance(statuses, list) or len(statuses) != count:
        got = len(statuses) if isinstance(statuses, list) else "no"
        raise VenueError(
            f"{what}: {got} order statuses in an answer to {count} orders; outcome unknown until looked up"
        )
    return statuses


_TRANSPORT = (requests.RequestException, ClientError, ServerError)
_USER_SIGNED = {"usdClassTransfer": "sign_usd_class_transfer_action"}
"""User-signed action types and the SDK signing function of each."""


_PRIVATE_KEY = re.compile(r"(0x)?[0-9a-fA-F]{64}")
"""A private key as written: 64 hex digits (``eth_account`` would left-pad a shorter one into another account's)."""


def _signer(credentials: Credentials) -> L1Signer:
    """The signer of the key; ``ConfigError`` naming where the key came from (never the key)."""
    secret = credentials.secret_key.get_secret_value()
    try:
        if not isinstance(secret, str) or not _PRIVATE_KEY.fullmatch(secret.strip()):
            raise ValueError("not 64 hex digits")
        return L1Signer(secret.strip())
    except (ValueError, TypeError):
        raise ConfigError(
            f"the Hyperliquid key from {credentials.source} is not a private key (expected 0x and 64 hex digits)"
        ) from None


class HyperliquidClient:
    """Reads and signed actions against one Hyperliquid API root (public or the local exchange)."""

    def __init__(
        self, config: HyperliquidConfig, credentials: Credentials | None = None, *, account: str | None = None
    ) -> None:
        """``account``: the owner account read when no ``credentials`` are given (reads only)."""
        self.config = config
        self._l1 = _signer(credentials) if credentials else None
        self.signer: str | None = self._l1.address if self._l1 is not None else None
        """The key's own address (None without credentials: reads only)."""
        self.vault: str | None = config.identity.vault_address
        """The vault or sub-account traded, sent as ``vaultAddress`` with every L1 action."""
        self._configured_owner = credentials.account_address if credentials else account
        self.owner: str | None = self._configured_owner or self.signer
        """The account the key signs for (a vault's leader when a vault is traded; settled by check_authority)."""
        self.authority: Authority | None = None
        """Set by ``check_authority()``: who the key is for the traded account."""
        self.timing = Timing()
        self._nonce_lock = threading.Lock()
        self._last_nonce = 0
        self._api = API(config.url, config.timeout_secs)
        self.meta: dict[str, Any] = self.read("connect", lambda: self._api.post("/info", {"type": "meta"}))
        parse_meta(self.meta)
        try:  # the SDK's Info indexes meta (given, not read again) and spotMeta (read); a malformed answer breaks it
            self.info: Info = self.read(
                "connect", lambda: Info(config.url, skip_ws=True, meta=self.meta, timeout=config.timeout_secs)
            )
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise MalformedAnswerError(
                f"Hyperliquid meta/spotMeta: an answer the SDK cannot index ({type(exc).__name__}: {exc})"
            ) from None

    @property
    def address(self) -> str | None:
        """The account every read asks about: the vault if one is traded, else the owner (never an agent)."""
        return self.vault or self.owner

    def __repr__(self) -> str:
        return f"HyperliquidClient(url={self.config.url!r}, network={self.config.network!r}, address={self.address!r})"

    def check_authority(self) -> Authority:
        """Ask the exchange whether the key may trade the configured account or vault (reads only); raises
        ``SignerNotAllowedError`` naming the addresses if not. Sets ``owner`` to the account the key signs for."""
        if self.signer is None:
            raise VenueError("Hyperliquid: no credentials loaded; there is no key to check")
        self.authority = check_authority(self.post_info, self.signer, self._configured_owner, self.vault)
        self.owner = self.authority.owner
        return self.authority

    # -- reads ----------------------------------------------------------------------------------------------
    def read(self, what: str, fn: Callable[[], T]) -> T:
        """Call ``fn``; retry transport failures (429, 5xx, timeouts) with exponential backoff."""
        delay = self.config.retry_backoff_secs
        for attempt in range(self.config.read_retries + 1):
            try:
                return fn()
            except _TRANSPORT as exc:
                err = translate(exc, what, self.config.url)
                if not isinstance(err, VenueUnavailableError) or attempt == self.config.read_retries:
                    # the log says what happened; the fix (which option or key sets the address) is in the error
                    logger.warning("Hyperliquid %s failed: %s", what, redact_text(str(exc), self.config.url))
                    raise err from None
                logger.warning(
                    "Hyperliquid %s failed (%s); retry %d of %d in %.2fs",
                    what,
                    redact_text(str(exc), self.config.url),
                    attempt + 1,
                    self.config.read_retries,
                    delay,
                )
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def post_info(self, what: str, body: dict[str, Any]) -> Any:
        return self.read(what, lambda: self.info.post("/info", body))

    def asset_of(self, coin: str) -> int:
        try:
            return int(self.info.name_to_asset(coin))
        except KeyError:
            raise UnknownSymbolError(f"{coin}: not in Hyperliquid meta") from None

    # -- signed actions -------------------------------------------------------------------------------------
    def _nonce(self) -> int:
        with self._nonce_lock:
            self._last_nonce = max(int(time.time() * 1000), self._last_nonce + 1)
            return self._last_nonce

    def _require_signer(self) -> L1Signer:
        if self._l1 is None:
            raise VenueError(
                f"Hyperliquid: connected to read only, with no key: set {secret_variable(self.config.network)} "
                "(or keystore_file / config_file) to sign"
            )
        return self._l1

    def post_action(self, what: str, action: dict[str, Any], *, user_signed: bool = False) -> Any:
        """Sign ``action`` and send it once. Raises VenueUnavailableError when the outcome is unknown.

        L1 actions are signed over this client's vault (``vaultAddress``); user-signed ones (``usdClassTransfer``,
        ``approveAgent``) carry their own nonce and no vault, as in the SDK's ``Exchange``."""
        signer = self._require_signer()
        t0 = time.perf_counter()
        if user_signed:
            nonce = int(action["nonce"])
            sign = getattr(sdk_signing(), _USER_SIGNED[action["type"]])
            signature = sign(signer.wallet(), action, self.config.is_mainnet)
            vault = None
        else:
            nonce, vault = self._nonce(), self.vault
            signature = signer.sign(action, vault, nonce, None, self.config.is_mainnet)  # = sign_l1_action, faster
        self.timing.sign_secs += time.perf_counter() - t0
        return self._send(what, action, nonce, signature, vault)

    def _send(self, what: str, action: dict[str, Any], nonce: int, signature: Any, vault: str | None) -> Any:
        payload = {
            "action": action,
            "nonce": nonce,
            "signature": signature,
            "vaultAddress": vault,
            "expiresAfter": None,
        }
        t1 = time.perf_counter()
        try:
            return self._api.post("/exchange", payload)
        except _TRANSPORT as exc:
            err = translate(exc, what, self.config.url)
            logger.warning("Hyperliquid %s failed (not retried): %s", what, redact_text(str(err), self.config.url))
            raise err from None
        finally:
            self.timing.http_secs += time.perf_counter() - t1
            self.timing.actions += 1

    def order_wire(
        self,
        coin: str,
        is_buy: bool,
        size: Decimal,
        price: Decimal,
        *,
        tif: str | None = "Ioc",
        reduce_only: bool = False,
        cloid: str | None = None,
        trigger: Decimal | None = None,
    ) -> dict[str, Any]:
        """One order in the exchange's wire form (the SDK's ``order_request_to_order_wire``); an ``order`` action
        may carry many. With ``trigger`` it is a stop-loss trigger order (``{"trigger": {"isMarket": true,
        "triggerPx", "tpsl": "sl"}}``; ``price`` is then the worst fill price). Raises ``OrderRejectedError`` for
        a size or price the wire cannot carry exactly."""
        kind: dict[str, Any] = (
            {"trigger": {"isMarket": True, "triggerPx": float(trigger), "tpsl": "sl"}}
            if trigger is not None
            else {"limit": {"tif": tif}}
        )
        request: dict[str, Any] = {
            "coin": coin,
            "is_buy": is_buy,
            "sz": float(size),
            "limit_px": float(price),
            "order_type": kind,
            "reduce_only": reduce_only,
        }
        if cloid is not None:
            request["cloid"] = Cloid.from_str(cloid)
        try:
            return sdk_signing().order_request_to_order_wire(request, self.asset_of(coin))  # type: ignore[no-any-return]
        except ValueError as exc:
            raise OrderRejectedError(
                f"{coin}: cannot put size {format_amount(size)} / price {format_amount(price)} on the wire: {exc}",
                symbol=coin,
            ) from None

    def bulk_orders(self, wires: Sequence[dict[str, Any]], what: str = "order") -> list[Any]:
        """Place many orders in ONE signed ``order`` action (the SDK's ``bulk_orders``: grouping "na", one nonce,
        one signature); returns the exchange's status entry of each, in order (``{"filled": ...}``,
        ``{"resting": ...}``, ``{"error": ...}``).

        Raises ``OrderRejectedError``/``InsufficientMarginError`` when the whole action is refused (no order was
        placed), ``VenueUnavailableError`` when the outcome is unknown (a timeout, HTTP 429/5xx), and a plain
        ``VenueError`` for an "ok" answer without one status per order (the orders may have executed: the caller
        looks each up by its cloid)."""
        t0 = time.perf_counter()
        action = sdk_signing().order_wires_to_order_action(list(wires))
        self.timing.sign_secs += time.perf_counter() - t0
        response = self.post_action(what, action)
        return order_statuses(response, len(wires), what)

    def order(
        self,
        coin: str,
        is_buy: bool,
        size: Decimal,
        price: Decimal,
        *,
        tif: str = "Ioc",
        reduce_only: bool = False,
        cloid: str | None = None,
    ) -> dict[str, Any]:
        """Place one limit order; returns its status entry (``{"filled": ...}``, ``{"resting": ...}``).

        Raises ``OrderRejectedError``/``InsufficientMarginError`` for a refusal (top-level "err" or an error
        inside the status), ``VenueUnavailableError`` when the outcome is unknown."""
        t0 = time.perf_counter()
        wire = self.order_wire(coin, is_buy, size, price, tif=tif, reduce_only=reduce_only, cloid=cloid)
        self.timing.sign_secs += time.perf_counter() - t0
        try:
            (status,) = self.bulk_orders([wire], f"order {coin}")
        except OrderRejectedError as exc:
            raise classify_refusal(str(exc), symbol=coin, cloid=cloid) from None
        if isinstance(status, dict) and "error" in status:  # top-level "ok" with an error inside: a failure
            raise classify_refusal(str(status["error"]), symbol=coin, cloid=cloid)
        return status  # type: ignore[no-any-return]

    def update_leverage(self, coin: str, leverage: int, is_cross: bool = True) -> None:
        action = {"type": "updateLeverage", "asset": self.asset_of(coin), "isCross": is_cross, "leverage": leverage}
        response = self.post_action(f"updateLeverage {coin}", action)
        if not isinstance(response, dict) or response.get("status") != "ok":
            raise classify_refusal(
                str(response.get("response") if isinstance(response, dict) else response), symbol=coin
            )

    def cancel(self, orders: Sequence[tuple[str, int]]) -> list[Any]:
        """Cancel resting orders by (coin, oid) in ONE signed ``cancel`` action (the SDK's ``bulk_cancel``);
        returns each one's status ("success" or ``{"error": ...}``, e.g. already filled), in order."""
        action = {"type": "cancel", "cancels": [{"a": self.asset_of(coin), "o": oid} for coin, oid in orders]}
        response = self.post_action(f"cancel x{len(orders)}", action)
        if not isinstance(response, dict) or response.get("status") != "ok":
            raise classify_refusal(str(response.get("response") if isinstance(response, dict) else response))
        try:
            statuses = response["response"]["data"]["statuses"]
        except (KeyError, TypeError):
            statuses = None
        if not isinstance(statuses, list) or len(statuses) != len(orders):
            raise VenueError(f"cancel: no status per order in the answer to {len(orders)} cancels")
        return statuses

    def new_nonce(self) -> int:
        """A fresh action nonce (milliseconds, strictly increasing): the id of a user-signed action."""
        return self._nonce()

    def fills_since(self, start_ms: int) -> list[Fill]:
        """The traded account's fills from ``start_ms`` (exchange time, ms) on (``userFillsByTime``), each with
        its exchange time, price, size and fee."""
        body = {"type": "userFillsByTime", "user": self.address, "startTime": start_ms}
        return parse_fills(self.post_info("userFillsByTime", body))

    def spot_usdc(self) -> Decimal:
        """The account's USDC on the spot side (``spotClearinghouseState``)."""
        state = self.post_info("spotClearinghouseState", {"type": "spotClearinghouseState", "user": self.address})
        return parse_spot_usdc(state)

    def open_orders(self) -> list[OpenOrder]:
        """The traded account's open orders, resting limits and untriggered stops (``frontendOpenOrders``)."""
        body = {"type": "frontendOpenOrders", "user": self.address}
        return parse_frontend_open_orders(self.post_info("frontendOpenOrders", body))

    def user_fees(self) -> FeeRates:
        """The traded account's fee rates (``userFees``: taker and maker, after its volume tier and discounts)."""
        return parse_user_fees(self.post_info("userFees", {"type": "userFees", "user": self.address}))

    def perp_withdrawable(self) -> Decimal:
        """USDC that can leave the traded account's perp side now (``clearinghouseState.withdrawable``)."""
        state = self.post_info("clearinghouseState", {"type": "clearinghouseState", "user": self.address})
        return parse_user_state(state).withdrawable

    def _check_can_transfer(self) -> str:
        """The amount suffix a transfer needs ("" or the SDK's ``" subaccount:0x..."``); refuses what the
        exchange would: an agent key (transfers are signed by the owner) or a vault (it has no spot balance)."""
        authority = self.authority
        if authority is not None and authority.signer_kind == "agent":
            raise OrderRejectedError(
                f"usdClassTransfer: the key's address {authority.signer} is an agent wallet of {authority.owner}; "
                "transfers must be signed with the owner's key"
            )
        if self.vault is None:
            return ""
        if authority is None or authority.vault_kind != "subAccount":
            raise OrderRejectedError(f"usdClassTransfer: {self.vault} is a vault; USDC moves in and out of a vault "
                                     "by vault transfers, which defipm does not make")  # fmt: skip
        return f" subaccount:{self.vault}"

    def usd_class_transfer(self, amount: Decimal, to_perp: bool, nonce: int | None = None) -> int:
        """Move USDC between spot and perp; returns the action's nonce (its id)."""
        suffix = self._check_can_transfer()
        nonce = self._nonce() if nonce is None else nonce
        action = {"type": "usdClassTransfer", "amount": f"{amount}{suffix}", "toPerp": to_perp, "nonce": nonce}
        response = self.post_action("usdClassTransfer", action, user_signed=True)
        if not isinstance(response, dict) or response.get("status") != "ok":
            raise classify_refusal(str(response.get("response") if isinstance(response, dict) else response))
        return nonce

    def approve_agent(self, agent_address: str, name: str | None = None) -> int:
        """Approve ``agent_address`` as an agent (API) wallet of this key's account (``approveAgent``, signed
        like the SDK's ``Exchange.approve_agent``; ``name`` None approves the unnamed agent). Returns the nonce."""
        nonce = self._nonce()
        action: dict[str, Any] = {
            "type": "approveAgent",
            "agentAddress": agent_address,
            "agentName": name or "",
            "nonce": nonce,
        }
        signature = sdk_signing().sign_agent(self._require_signer().wallet(), action, self.config.is_mainnet)
        if name is None:
            del action["agentName"]  # signed as "", sent without the field, as the SDK does
        response = self._send("approveAgent", action, nonce, signature, self.vault)  # the SDK sends its vault
        if not isinstance(response, dict) or response.get("status") != "ok":
            raise classify_refusal(str(response.get("response") if isinstance(response, dict) else response))
        return nonce
