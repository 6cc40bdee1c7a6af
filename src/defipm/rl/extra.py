"""The ``rl`` extra: torch (the CPU build), gymnasium and stable-baselines3.

``require_rl(what)`` raises one ``ConfigError`` line naming what needs the extra, the missing modules and the fix
(``scripts/bootstrap rl``) when any of them cannot be imported; it also limits torch to ``TORCH_THREADS`` threads
(the machines have two cores, and more threads than cores only slows small networks down).

``quiet_openmp()`` asks OpenMP to let idle threads sleep (``OMP_WAIT_POLICY=PASSIVE``, unless the variable is
already set). It must run before torch is first imported; ``defipm.rl`` runs it when the package is imported. On
small policy networks torch's threads otherwise spin between tiny matrix products: with a second busy process on a
two-core machine, 1,024 PPO steps took 13 s instead of 1.5 s (measured on this project's CI machine).
"""

from __future__ import annotations

import importlib
import os
from functools import cache

from defipm.core.errors import ConfigError

RL_MODULES = ("torch", "gymnasium", "stable_baselines3")
BOOTSTRAP = "scripts/bootstrap rl"
TORCH_THREADS = 2


def quiet_openmp() -> None:
    """Let OpenMP's idle threads sleep rather than spin (see the module doc); a value the user set is kept."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def missing_modules() -> list[str]:
    """The modules of the ``rl`` extra that cannot be imported here."""
    missing = []
    for name in RL_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


@cache
def _configure_torch() -> None:
    import torch

    torch.set_num_threads(TORCH_THREADS)


def require_rl(what: str = "the learned allocator") -> None:
    """Refuse, in one line, when the ``rl`` extra is not installed; set torch's thread count once."""
    quiet_openmp()
    missing = missing_modules()
    if missing:
        raise ConfigError(
            f"{what} needs the rl extra, and {', '.join(missing)} cannot be imported: install it with {BOOTSTRAP}"
        )
    _configure_torch()
