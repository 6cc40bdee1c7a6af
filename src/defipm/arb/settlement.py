"""Settling an execution from its journal and the chain: what was mined, what it earned, what is still held.

``Settlement.resolve(execution, report)`` reads the receipt of every journalled transaction of ``execution`` that
has no known outcome yet (by hash, recorded before it was broadcast):

- a transaction still pending keeps the execution open ("in flight"): nothing else may trade until it is mined;
- one the node neither holds nor mined was never broadcast, or dropped: when its nonce is still free (and nothing
  with that nonce waits in the mempool) it is marked dropped and ignored; when the nonce was taken, the transaction
  mined with it is looked up (``defipm.chain.history.WalletHistory.by_nonce``, the search the Uniswap venue uses
  for its tagged swaps) and, if it is the same call re-signed (a "speed up"), its receipt is this one's outcome;
- mined ones (reverted included) give their gas and the wallet's token flows (receipt Transfer logs).

The execution's account is then the sum over its transactions: profit = the wallet's change of the start token,
gas = every transaction's gas (approvals and reverted hops too). A capital cycle that stopped half-way holds another
token: the settlement turns it back into the start token through the best of "complete" and "unwind"
(``defipm.arb.unwind``) with the capital engine (``unwinder``), journalled like the rest; if neither can be done the
execution stays "held" and the runner refuses to trade, naming what is held. Profit in native wei values anything
held at market (``PriceBook``), so a stuck hop is not booked as a loss of its whole input.

With no journalled transaction, the engine's own ``report`` (if any) is the account: an engine that refused in
simulation sent nothing ("abandoned").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from defipm.arb.execution.report import ExecutionReport
from defipm.arb.journal import ABANDONED, HELD, SETTLED, ArbJournal, JournalledExecution, JournalledTx
from defipm.arb.unwind import routes_back
from defipm.chain.history import WalletHistory
from defipm.core.errors import DefipmError, JournalError

if TYPE_CHECKING:
    from defipm.arb.costs import PriceBook
    from defipm.arb.execution.capital import HopRun
    from defipm.arb.execution.plan import HopPlan
    from defipm.arb.execution.txlog import TxLog
    from defipm.arb.pools import Pool
    from defipm.chain.transactions import TransactionSender, TxOutcome

__all__ = ["HopSwapper", "Resolution", "Settlement"]

IN_FLIGHT = "in flight"


class HopSwapper(Protocol):
    """What unwinding needs: swap an amount through a route of hops from the wallet (``CapitalEngine``)."""

    def swap_hops(
        self, hops: Sequence[HopPlan], amount_in: int, log: TxLog | None = None, purpose: str = "hop"
    ) -> HopRun: ...


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where an execution stands. ``status``: settled, abandoned (final), held or "in flight" (open: no trading).
    ``report``: its account (for final ones); ``profit_native``: net of gas, held tokens at market, None unpriced."""

    execution_id: str
    status: str
    reason: str
    report: ExecutionReport | None = None
    profit_native: int | None = None
    held: dict[str, int] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.status in (SETTLED, ABANDONED)


class Settlement:
    """Resolves executions of ``journal`` against the chain of ``sender``'s wallet.

    pools: the latest pool states by address (for quoting routes back). prices: native prices of tokens, or None.
    unwinder: swaps held tokens back (the capital engine); None leaves them held. slippage_bps: allowance below
    the quote on every hop of a route back. lookback_blocks: how far back a replaced transaction is looked for."""

    def __init__(
        self,
        journal: ArbJournal,
        sender: TransactionSender | None,
        *,
        pools: Callable[[], Mapping[str, Pool]],
        prices: Callable[[], PriceBook | None],
        unwinder: HopSwapper | None = None,
        slippage_bps: int = 50,
        lookback_blocks: int = 5_000,
    ) -> None:
        self.lookback_blocks = lookback_blocks
        self.journal = journal
        self.sender = sender
        self.pools = pools
        self.prices = prices
        self.unwinder = unwinder
        self.slippage_bps = slippage_bps

    def resolve(self, execution: JournalledExecution, report: ExecutionReport | None = None) -> Resolution:
        """Settle ``execution`` as far as the chain allows (see the module docstring); ``report``: what the engine
        returned in this process, if it ran here."""
        txs = self.journal.transactions(execution.id)
        if not txs:
            return self._from_report(execution, report)
        txs, pending = self._read_outcomes(txs)
        if pending is not None:
            return Resolution(execution.id, IN_FLIGHT, f"transaction {pending.tx_hash} (nonce {pending.nonce}) of "
                              f"execution {execution.id} is pending: waiting for it to be mined")  # fmt: skip
        held = _held(execution, txs)
        note = ""
        if held:
            note = self._bring_back(execution, held)
            txs, pending = self._read_outcomes(self.journal.transactions(execution.id))
            if pending is not None:
                return Resolution(execution.id, IN_FLIGHT, f"unwinding transaction {pending.tx_hash} is pending")
            held = _held(execution, txs)
        return self._account(execution, txs, held, report, note)

    # -- steps -----------------------------------------------------------------------------------------------
    def _read_outcomes(self, txs: list[JournalledTx]) -> tuple[list[JournalledTx], JournalledTx | None]:
        """Fill in the outcome of every transaction still marked signed; the first still pending, if any."""
        from defipm.chain.receipts import wallet_flows

        if self.sender is None:
            raise JournalError(
                f"{len(txs)} transaction(s) were journalled but the engine has no wallet sender to read their "
                "outcome with: run with the engine that sent them"
            )

        out = []
        for tx in txs:
            if tx.status == "signed":
                outcome, replaced_by, pending = self._find(tx)
                if pending:
                    return txs, tx
                if outcome is None:
                    self.journal.record_outcome(tx.tx_hash, "dropped")
                    tx = _replace_tx(tx, "dropped")
                else:
                    flows = wallet_flows(self.sender.w3, outcome.receipt, self.sender.address)
                    status = "mined" if outcome.success else "reverted"
                    self.journal.record_outcome(tx.tx_hash, status, block=outcome.block_number,
                                                gas_used=outcome.gas_used, gas_cost_wei=outcome.gas_cost_wei,
                                                flows=flows, replaced_by=replaced_by)  # fmt: skip
                    tx = JournalledTx(tx.tx_hash, tx.seq, tx.step, tx.nonce, status, outcome.block_number,
                                      outcome.gas_used, outcome.gas_cost_wei, flows, tx.to, tx.data,
                                      replaced_by)  # fmt: skip
            out.append(tx)
        return out, None

    def _find(self, tx: JournalledTx) -> tuple[TxOutcome | None, str | None, bool]:
        """(outcome, hash of the replacement that was mined, still pending) of a journalled transaction: by its
        hash; else, when its nonce was taken, by that nonce (the same call re-signed, e.g. with a higher fee)."""
        sender = self.sender
        assert sender is not None
        outcome = sender.outcome_of(tx.tx_hash)
        if outcome is not None:
            return outcome, None, False
        if sender.is_pending(tx.tx_hash):
            return None, None, True
        if sender.mined_nonce() <= tx.nonce:
            # its nonce is free: never broadcast, unless another transaction with that nonce waits in the mempool
            return None, None, sender.pending_nonce() > tx.nonce
        other = WalletHistory(sender.w3, sender.address).by_nonce(tx.nonce, self.lookback_blocks)
        if other is None or (other.to or "") != tx.to or "0x" + other.data.hex() != tx.data.lower():
            return None, None, False  # the nonce went to another call: this one was never mined
        replacement = other.hash
        return sender.outcome_of(replacement), replacement, False

    def _bring_back(self, execution: JournalledExecution, held: dict[str, int]) -> str:
        """Try once to turn each held token back into the start token; returns what went wrong ("" if nothing)."""
        if self.unwinder is None:
            return "no capital engine to unwind with (run with the routers configured)"
        try:
            pools = self.pools()
        except DefipmError as exc:
            return f"cannot read pools to unwind: {exc}"
        problems = []
        for token, amount in held.items():
            routes = routes_back(execution.hops, token, amount, pools, self.slippage_bps)
            if not routes:
                problems.append(f"no route back from {token} (pools paused, missing or refusing)")
                continue
            route = routes[0]
            run = self.unwinder.swap_hops(route.hops, amount, self.journal.tx_log(execution.id), route.name)
            if run.reason != "ok":
                problems.append(f"{route.name} of {amount} {token} stopped: {run.reason}")
        return "; ".join(problems)

    def _from_report(self, execution: JournalledExecution, report: ExecutionReport | None) -> Resolution:
        if report is None:
            reason = "nothing was sent before the process stopped"
            self.journal.settle(execution.id, ABANDONED, reason=reason)
            return Resolution(execution.id, ABANDONED, reason,
                              ExecutionReport(execution.engine, False, 0, 0, 0, reason=reason), 0)  # fmt: skip
        status = SETTLED if report.success or report.gas_used else ABANDONED
        native = self._native(execution.start_token, report.profit, report.held, report.gas_cost_wei)
        self.journal.settle(execution.id, status, profit=report.profit, profit_native=native,
                            gas_used=report.gas_used, gas_cost_wei=report.gas_cost_wei, held=report.held,
                            reason=report.reason)  # fmt: skip
        return Resolution(execution.id, status, report.reason, report, native, dict(report.held))

    def _account(
        self,
        execution: JournalledExecution,
        txs: list[JournalledTx],
        held: dict[str, int],
        report: ExecutionReport | None,
        note: str,
    ) -> Resolution:
        mined = [t for t in txs if t.status in ("mined", "reverted")]
        start = execution.start_token
        profit = sum(t.flows.get(start, 0) for t in mined)
        gas_used = sum(t.gas_used for t in mined)
        gas_cost = sum(t.gas_cost_wei for t in mined)
        native = self._native(start, profit, held, gas_cost)
        unwound = any(t.step.purpose == "unwind" and t.status == "mined" for t in mined)
        recovered = any(t.step.purpose in ("unwind", "complete") and t.status == "mined" for t in mined)
        closed = any(t.status == "mined" and t.step.token_out == start and t.step.purpose != "approve" for t in mined)
        success = closed and not recovered and not held  # the cycle ran as planned
        reason = report.reason if report is not None else "resolved from the chain after a restart"
        if unwound:
            reason += f"; unwound into {start}"
        elif closed and any(t.step.purpose == "complete" for t in mined):
            reason += "; completed after a stop"
        if note:
            reason += f"; {note}"
        status = HELD if held else SETTLED if mined else ABANDONED
        if held:
            reason += "; holding " + ", ".join(f"{v} of {t}" for t, v in held.items()) + ": not trading until resolved"
        block = max((t.block_number or 0 for t in mined), default=0) or None
        account = ExecutionReport(
            engine=execution.engine, success=success, profit=profit, gas_used=gas_used, gas_cost_wei=gas_cost,
            tx_hashes=tuple(t.tx_hash for t in mined), block_number=block,
            simulated_profit=report.simulated_profit if report else None,
            elapsed_ms=report.elapsed_ms if report else 0.0, reason="ok" if success and not note else reason,
            held=held,
        )  # fmt: skip
        self.journal.settle(execution.id, status, profit=profit, profit_native=native, gas_used=gas_used,
                            gas_cost_wei=gas_cost, held=held, reason=account.reason)  # fmt: skip
        return Resolution(execution.id, status, account.reason, account, native, held)

    def _native(self, start: str, profit: int, held: Mapping[str, int], gas_cost: int) -> int | None:
        """``profit`` of the start token plus ``held`` tokens at market, less gas, in native wei (None: unpriced)."""
        prices = self.prices()
        if prices is None:
            return None
        total = -gas_cost
        for token, amount in [(start, profit), *held.items()]:
            value = prices.to_native(token, abs(amount))
            if value is None:
                return None
            total += value if amount >= 0 else -value
        return total


def _held(execution: JournalledExecution, txs: list[JournalledTx]) -> dict[str, int]:
    """Tokens other than the start token the execution's mined transactions left in the wallet."""
    totals: dict[str, int] = {}
    for tx in txs:
        if tx.status in ("mined", "reverted"):
            for token, change in tx.flows.items():
                totals[token] = totals.get(token, 0) + change
    return {t: v for t, v in totals.items() if t != execution.start_token and v > 0}


def _replace_tx(tx: JournalledTx, status: str) -> JournalledTx:
    return JournalledTx(tx.tx_hash, tx.seq, tx.step, tx.nonce, status, tx.block_number, tx.gas_used,
                        tx.gas_cost_wei, tx.flows, tx.to, tx.data, tx.replaced_by)  # fmt: skip
