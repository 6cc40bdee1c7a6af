"""The learned allocator: a PPO policy trained in a Gymnasium portfolio environment that prices every trade with
the paper venue's cost function, kept in a model registry and served as an oracle.

- ``market``: the price and volume arrays a model trains and trades on (``MarketArrays``), and its data hash.
- ``split``: the chronological train/test split and the checks that the data covers the window and both parts.
- ``observation`` / ``action``: what the policy sees (windows of log returns and relative volumes, plus the
  current weights) and how its answer becomes long-only weights; shared by the environment and the oracle.
- ``execution``: one rebalance in arrays: the planner's targets and the fill model's costs (``fill_costs``).
- ``env``: ``PortfolioEnv``, the Gymnasium environment.
- ``training``: PPO (Stable-Baselines3) on the CPU, seeded, with a rich progress bar.
- ``episodes`` / ``baselines`` / ``evaluation`` / ``report``: running a policy or a baseline through the
  environment, the figures of the test part against equal weight, buy-and-hold of the benchmark and HRP (or
  minimum variance), and their report.
- ``model`` / ``registry``: a trained model's card (metadata) and the registry (a folder plus store rows).
- ``search`` / ``tuning``: the rebalancing-frequency grid (through the parameter search's job runner) and
  hyper-parameter search with Optuna.
- ``pipeline``: train, evaluate and register in one call (the CLI and the rotation loop use it).
- ``extra``: the check that the ``rl`` extra (torch, gymnasium, stable-baselines3) is installed.

The oracles live in ``defipm.oracles.ppo`` (``PPOOracle``) and ``defipm.oracles.ppo_rotation`` (the rotation
loop). Importing this package imports neither torch nor gymnasium; the modules that need them say so in one line
when the extra is missing (``defipm.rl.extra``).
"""

from defipm.rl.extra import quiet_openmp

quiet_openmp()
