"""The model registry: a folder of models, and a row per model in the store.

Layout: ``<root>/<name>/<version>/policy.zip`` (the SB3 policy) and ``card.json`` (``ModelCard``). Versions count
from 1 per name. The folder is what a model is loaded from; the store's ``rl_models`` rows (``RLModelRecord``)
index it for the CLI and the service. A model is named ``name`` (its newest version), ``name@version``, or a path
to a model folder.

``load`` reads the card and the policy and, given the symbols and bar interval of the data or venue the model is to
trade, refuses a mismatch naming the symbols (``ModelMismatchError``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Collection
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy import insert

from defipm.core.errors import ConfigError
from defipm.rl.model import NAME, LoadedModel, ModelCard
from defipm.store.models import RLModelRecord

if TYPE_CHECKING:
    from stable_baselines3 import PPO

    from defipm.store.database import Store

DEFAULT_REGISTRY = Path("models")
"""The registry's folder when none is given (relative to the working directory)."""
POLICY_FILE = "policy.zip"
CARD_FILE = "card.json"


class ModelRegistry:
    """Models under ``root``; with a ``store``, each registration also writes its row there."""

    def __init__(self, root: str | Path = DEFAULT_REGISTRY, store: Store | None = None) -> None:
        self.root = Path(root)
        self.store = store

    # -- writing ----------------------------------------------------------------------------------------------
    def register(self, card: ModelCard, policy: PPO) -> ModelCard:
        """Save ``policy`` with ``card`` as the next version of ``card.name``; returns the card with its version."""
        folder_root = self.root / card.name
        try:
            folder_root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"model registry {self.root}: cannot write there ({exc.strerror or exc})") from None
        version = max(self._versions(card.name), default=0) + 1
        saved = card.model_copy(update={"version": version})
        folder = folder_root / str(version)
        staging = folder_root / f".{version}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        policy.save(str(staging / POLICY_FILE))
        (staging / CARD_FILE).write_text(saved.model_dump_json(indent=2))
        staging.rename(folder)  # a model folder is complete or absent
        if self.store is not None:
            self._record(saved, folder)
        return saved

    def _record(self, card: ModelCard, folder: Path) -> None:
        assert self.store is not None
        figures = {"train": card.train_figures, "test": card.test_figures}
        with self.store.begin() as conn:
            conn.execute(
                insert(RLModelRecord).values(
                    id=card.ref,
                    name=card.name,
                    version=card.version,
                    created_at=card.created_at,
                    path=str(folder.resolve()),
                    symbols=json.dumps(list(card.symbols)),
                    interval_seconds=card.interval_seconds,
                    window=card.env.window,
                    rebalance_every=card.env.rebalance_every,
                    data_start=card.data.start,
                    data_end=card.data.end,
                    data_hash=card.data.hash,
                    figures=json.dumps(figures),
                    card=card.model_dump_json(),
                )
            )

    # -- reading ----------------------------------------------------------------------------------------------
    def _versions(self, name: str) -> list[int]:
        folder = self.root / name
        if not folder.is_dir():
            return []
        return sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())

    def folder(self, ref: str) -> Path:
        """The folder of the model ``ref`` (``name``, ``name@version`` or a model folder's path)."""
        path = Path(ref)
        if (path / CARD_FILE).is_file():
            return path
        name, _, version = ref.partition("@")
        if not NAME.match(name) or (version and not version.isdigit()):
            raise ConfigError(f"model {ref!r}: give name, name@version or a model folder (with {CARD_FILE})")
        versions = self._versions(name)
        if not versions:
            self._require_root()
            known = ", ".join(self.names()) or "none"
            raise ConfigError(f"model {ref!r}: no such model in {self.root} (models there: {known})")
        if version and int(version) not in versions:
            raise ConfigError(f"model {ref!r}: {name} has versions {', '.join(map(str, versions))} in {self.root}")
        return self.root / name / (version or str(versions[-1]))

    def card(self, ref: str) -> ModelCard:
        """The card of model ``ref``; a missing or unreadable card is a ``ConfigError`` naming the file."""
        path = self.folder(ref) / CARD_FILE
        try:
            return ModelCard.model_validate_json(path.read_text())
        except (OSError, ValidationError, ValueError) as exc:
            raise ConfigError(f"model card {path}: unreadable ({str(exc).splitlines()[0]})") from None

    def load(
        self,
        ref: str,
        *,
        symbols: Collection[str] | None = None,
        interval: timedelta | None = None,
        where: str = "the data",
    ) -> LoadedModel:
        """The model ``ref`` with its policy, refused (``ModelMismatchError``, naming the symbols) when its symbols
        are not all in ``symbols`` or its bar interval is not ``interval`` (either checked when given)."""
        card = self.card(ref)
        if symbols is not None:
            card.check_symbols(symbols, where)
        if interval is not None:
            card.check_interval(interval, where)
        from defipm.rl.training import load_ppo

        policy_file = self.folder(ref) / POLICY_FILE
        if not policy_file.is_file():
            raise ConfigError(f"model {card.ref}: {policy_file} is missing")
        return LoadedModel(card, load_ppo(str(policy_file)))

    def _require_root(self) -> None:
        """A ``ConfigError`` naming the folder when the registry's folder does not exist (or is a file): a mistyped
        registry must not read as an empty one."""
        if not self.root.is_dir():
            what = "is a file, not a folder" if self.root.exists() else "does not exist"
            raise ConfigError(
                f"model registry {self.root.resolve()} {what}: give the folder `defipm rl train` registers models in "
                f"(--registry, or the PPO oracle's registry param; default ./{DEFAULT_REGISTRY})"
            )

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and NAME.match(p.name) and self._versions(p.name)
        )

    def cards(self, name: str | None = None) -> list[ModelCard]:
        """Every model in the folder (of ``name``), by name then version; a folder that does not exist is a
        ``ConfigError`` naming it. (The store's rows are an index of the registrations made with a store, for readers
        without the folder, such as the service.)"""
        self._require_root()
        names = [name] if name is not None else self.names()
        return [self.card(f"{n}@{v}") for n in names for v in self._versions(n)]
