"""A trained model's card (everything needed to trust, reproduce and serve it) and the loaded model.

``ModelCard`` records the symbols, the bar interval, the environment's settings (window, rebalancing interval,
features, action scale), the costs it was trained under, PPO's hyper-parameters and seed, the data range and its
hash, the train and test parts with their figures, and the library versions. ``LoadedModel`` pairs a card with
its policy and turns an observation into weights. ``check_symbols`` refuses a universe that lacks the model's
symbols, naming them.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import metadata
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator

from defipm.core.errors import ConfigError
from defipm.core.schedule import spell_duration
from defipm.data.panel import left_out_note
from defipm.rl.action import action_weights
from defipm.rl.settings import CostSettings, EnvSettings, PPOSettings

if TYPE_CHECKING:
    from stable_baselines3 import PPO

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
VERSIONED_LIBRARIES = ("numpy", "torch", "gymnasium", "stable-baselines3", "defipm")


class ModelMismatchError(ConfigError):
    """A model does not fit the data or venue it is asked to trade (symbols, bar interval)."""


class Period(BaseModel):
    """Bars from ``start`` to ``end`` (bar close times, UTC), ``bars`` of them."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    start: datetime
    end: datetime
    bars: int


class DataRecord(Period):
    """The data a model was made from: where from, which bars, and the SHA-256 of them (``MarketArrays``)."""

    source: str
    hash: str


class ModelCard(BaseModel):
    """Metadata of a registered model (``card.json`` in its folder; the store keeps a row of it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    version: int = Field(default=0, ge=0)
    """0 until registered; then 1, 2, ... per name."""
    created_at: datetime
    symbols: tuple[str, ...] = Field(min_length=1)
    interval_seconds: float = Field(gt=0)
    env: EnvSettings
    costs: CostSettings
    ppo: PPOSettings
    data: DataRecord
    train: Period
    test: Period | None = None
    train_figures: dict[str, float | int | None] = Field(default_factory=dict)
    test_figures: dict[str, float | int | None] = Field(default_factory=dict)
    benchmark: str | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(
                f"a model name is 1-64 letters, digits, '_', '.' or '-' starting with a letter or digit, got {value!r}"
            )
        return value

    @property
    def ref(self) -> str:
        """``name@version``: how the registry, the CLI and ``[oracle.params] model`` name it."""
        return f"{self.name}@{self.version}"

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=self.interval_seconds)

    def check_symbols(self, available: Collection[str], where: str, left_out: Collection[str] = ()) -> None:
        """Refuse when any of the model's symbols is not in ``available``, naming them and ``where`` they were
        looked for; those in ``left_out`` (the data holds them, ``--symbols`` left them out) are named as such."""
        missing = [s for s in self.symbols if s not in available]
        if not missing:
            return
        excluded = [s for s in missing if s in left_out]
        absent = [s for s in missing if s not in left_out]
        problems = [left_out_note(excluded, "train a model on these symbols")] if excluded else []
        if absent:
            problems.append(
                f"not in {where}: {', '.join(absent)} (train a model on these symbols, or trade it where they are "
                "listed)"
            )
        raise ModelMismatchError(f"model {self.ref} trades {', '.join(self.symbols)}; {'; '.join(problems)}")

    def check_interval(self, interval: timedelta, where: str) -> None:
        if interval != self.interval:
            raise ModelMismatchError(
                f"model {self.ref} was trained on {spell_duration(self.interval)} bars; {where} has "
                f"{spell_duration(interval)} bars"
            )


def library_versions() -> dict[str, str]:
    """Python's and the libraries' versions, for a card."""
    found = {"python": platform.python_version()}
    for name in VERSIONED_LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A card and its policy."""

    card: ModelCard
    policy: PPO

    def weights(self, observation: NDArray[np.float32]) -> NDArray[np.float64]:
        """The policy's deterministic asset weights (long only; cash is the rest) for one observation."""
        action, _ = self.policy.predict(observation, deterministic=True)
        return action_weights(action, self.card.env.action_scale)
