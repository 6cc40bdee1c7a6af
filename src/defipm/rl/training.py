"""PPO training with Stable-Baselines3 on the CPU: seeded, with progress reported as it goes.

``train_ppo(env, settings, progress)`` builds SB3's ``PPO`` with an MLP policy on ``env`` and trains it for
``settings.timesteps`` environment steps (SB3 rounds up to whole rollouts of ``n_steps``). The seed fixes
Python's, numpy's and torch's generators and the environment's, and torch runs on ``TORCH_THREADS`` threads, so
the same seed on the same machine gives the same policy. ``progress(done, total)`` is called after every
rollout (the CLI draws a rich progress bar with it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from defipm.rl.extra import require_rl
from defipm.rl.settings import PPOSettings

if TYPE_CHECKING:
    from stable_baselines3 import PPO

    from defipm.rl.env import PortfolioEnv

ProgressCallback = Callable[[int, int], None]


def train_ppo(env: PortfolioEnv, settings: PPOSettings, progress: ProgressCallback | None = None) -> PPO:
    """A PPO policy trained on ``env`` (see the module doc)."""
    require_rl("PPO training")
    from stable_baselines3 import PPO

    model = PPO(
        "MlpPolicy",
        env,
        learning_rate=settings.learning_rate,
        n_steps=settings.n_steps,
        batch_size=settings.batch_size,
        n_epochs=settings.n_epochs,
        gamma=settings.gamma,
        gae_lambda=settings.gae_lambda,
        clip_range=settings.clip_range,
        ent_coef=settings.ent_coef,
        policy_kwargs={"net_arch": list(settings.net_arch)},
        seed=settings.seed,
        device="cpu",
        verbose=0,
    )
    model.learn(total_timesteps=settings.timesteps, callback=_progress_callback(progress, settings.timesteps))
    return model


def load_ppo(path: str) -> PPO:
    """A policy saved with ``PPO.save`` (on the CPU)."""
    require_rl("loading a PPO model")
    from stable_baselines3 import PPO

    return PPO.load(path, device="cpu")


def _progress_callback(progress: ProgressCallback | None, total: int) -> Any:
    if progress is None:
        return None
    report: ProgressCallback = progress
    from stable_baselines3.common.callbacks import BaseCallback

    class RolloutProgress(BaseCallback):  # type: ignore[misc]
        """Reports the steps done after every rollout."""

        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            report(min(self.num_timesteps, total), total)

    return RolloutProgress()
