"""How the paper venue prices a fill: the mid, moved against the taker by a fixed spread plus size impact.

``fraction = fixed_bps / 1e4 + impact * sqrt(notional / max(bar_volume, volume_floor)) + noise``. The square-root
impact law is the usual empirical shape; ``impact`` = 0.1 means trading 1% of a bar's volume costs 1% x 0.1 = 10 bps
... of sqrt(0.01) = 0.1, i.e. 1 bp per 0.1 of impact coefficient. With no volume known, only the fixed part applies.
``noise_bps`` adds a seeded, reproducible random component (a half-normal draw: noise never improves a fill).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SlippageModel:
    fixed_bps: float = 0.0
    """Half-spread paid on every fill, in basis points."""
    impact: float = 0.0
    """Square-root impact coefficient against bar volume (quote currency)."""
    volume_floor: float = 1.0
    """Smallest bar volume used in the impact term (hourly data often reports 0)."""
    noise_bps: float = 0.0
    """Scale of the seeded half-normal noise, in basis points."""

    def __post_init__(self) -> None:
        for name in ("fixed_bps", "impact", "noise_bps"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"slippage {name} must be a finite number >= 0, got {value}")
        if not self.volume_floor > 0:
            raise ValueError(f"slippage volume_floor must be > 0, got {self.volume_floor}")

    def fraction(self, notional: float, volume: float | None, rng: random.Random | None = None) -> float:
        """Adverse price move as a fraction of the mid for a fill of ``notional`` quote currency."""
        frac = self.fixed_bps / 1e4
        if self.impact and volume is not None:
            frac += self.impact * math.sqrt(abs(notional) / max(volume, self.volume_floor))
        if self.noise_bps and rng is not None:
            frac += abs(rng.gauss(0.0, self.noise_bps / 1e4))
        return frac
