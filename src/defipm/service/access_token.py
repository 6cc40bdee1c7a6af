"""The bearer token that guards the service's write actions.

``AccessToken.load_or_create(path)`` reads the token from ``path``, or on first start creates a random one
(``secrets.token_urlsafe``, 256 bits) in a new file only its owner may read or write (0600, in a directory made
0700 if it has to be made). An existing file that others can read is refused, naming it and the fix. The token is
registered with ``hide_in_logs`` at once, never printed or rendered, and compared in constant time.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from pathlib import Path

from defipm.core.errors import ConfigError
from defipm.core.redaction import hide_secret_in_logs

__all__ = ["AccessToken", "default_token_file"]

MIN_LENGTH = 32


def default_token_file() -> Path:
    """``$XDG_CONFIG_HOME/defipm/service-token`` (``~/.config/defipm/service-token``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "defipm" / "service-token"


class AccessToken:
    """A bearer token; ``created`` says whether this start wrote the file."""

    def __init__(self, secret: str, path: Path, *, created: bool = False) -> None:
        self._secret = secret.encode()
        self.path = path
        self.created = created
        hide_secret_in_logs(secret)

    def __repr__(self) -> str:
        return f"AccessToken(path={str(self.path)!r})"

    @classmethod
    def load_or_create(cls, path: Path) -> AccessToken:
        """Read the token in ``path``, creating it (0600) when absent. Raises ``ConfigError`` naming the file."""
        try:
            return cls._create(path)
        except FileExistsError:
            return cls._load(path)
        except OSError as exc:
            raise ConfigError(
                f"token file {path}: cannot create it ({exc.strerror or exc}); pass --token-file"
            ) from None

    @classmethod
    def _create(cls, path: Path) -> AccessToken:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700)
        secret = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret + "\n")
        return cls(secret, path, created=True)

    @classmethod
    def _load(cls, path: Path) -> AccessToken:
        try:
            mode = path.stat().st_mode
            secret = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"token file {path}: cannot read it ({exc})") from None
        if not stat.S_ISREG(mode) or mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"token file {path}: others may read it (mode {stat.filemode(mode)}); run `chmod 600 {path}` "
                "or delete it to have a new token made"
            )
        if len(secret) < MIN_LENGTH or any(c.isspace() for c in secret):
            raise ConfigError(
                f"token file {path}: not a token (one line of at least {MIN_LENGTH} characters); delete it to have "
                "a new one made"
            )
        return cls(secret, path)

    def matches(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header value is ``Bearer <this token>`` (constant-time comparison)."""
        if not authorization:
            return False
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(presented.strip().encode(), self._secret)
