"""Executing arbitrage cycles on chain: the plan of hops, the compiled contracts, and two engines.

``plan.ExecutionPlan`` turns a sized ``Opportunity`` into hops with exact expected amounts. Engines share one
two-step shape, so a caller (or a test) can act between simulation and sending: ``prepare(plan)`` simulates with
``eth_call`` and raises ``TransactionRevertedError`` when the trade would fail; ``send(prepared, log)`` broadcasts it
and returns an ``ExecutionReport``; ``execute(plan, log)`` does both. Every transaction is handed to the ``log``
(``txlog.TxLog``: the journal) after signing and before broadcasting; what it did is read from its receipt
(``defipm.chain.receipts.wallet_flows``).

- ``flash.FlashLoanEngine``: one transaction through ``ArbExecutor`` (Aave V3 ``flashLoanSimple``).
- ``capital.CapitalEngine``: sequential router swaps from the wallet, ``amountOutMinimum`` on every hop.
"""

from defipm.arb.execution.plan import ExecutionPlan, HopPlan, plan_execution
from defipm.arb.execution.report import ExecutionReport

__all__ = ["ExecutionPlan", "ExecutionReport", "HopPlan", "plan_execution"]
