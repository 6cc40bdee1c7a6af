"""Where a command finds its config by default: ``defipm.toml`` in the working folder.

Its own module so the command line can name it without importing pydantic and the settings model (start-up)."""

from pathlib import Path

DEFAULT_CONFIG = Path("defipm.toml")
